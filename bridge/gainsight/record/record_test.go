package record

import "testing"

func TestRecord(t *testing.T) {
	r := Record{"Gsid": "gs-1", "Title": "x"}
	if r.GSID() != "gs-1" || (Record{"Gsid": 3}).GSID() != "" || Record(nil).GSID() != "" {
		t.Errorf("GSID: %q", r.GSID())
	}
	c := r.Clone()
	c["Title"] = "y"
	if r["Title"] != "x" || Record(nil).Clone() != nil {
		t.Errorf("Clone shares its map: %v", r)
	}
}
