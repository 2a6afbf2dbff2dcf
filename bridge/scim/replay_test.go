package scim

import (
	"embed"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/scim/scimreplay"
)

//go:embed testdata
var replays embed.FS

func TestIdPReplays(t *testing.T) {
	for _, idp := range []string{"okta", "entra", "entra-2020", "onelogin", "jumpcloud", "conformance"} {
		t.Run(idp, func(t *testing.T) {
			steps, err := scimreplay.Load(replays, "testdata/"+idp)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, nil)
			scimreplay.Run(t, f.h, testToken, steps)
		})
	}
}
