package gainsight

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// BenchmarkRoundTrip measures the client and the simulator through real
// HTTP on 127.0.0.1: each iteration creates a batch of 50 users and updates
// them in a second batch of 50.
func BenchmarkRoundTrip(b *testing.B) {
	for _, api := range []string{APIServices, APIUsersV1} {
		b.Run(api, func(b *testing.B) {
			sim := gainsighttest.New(gainsighttest.Tenant{AccessKey: simKey})
			srv := httptest.NewServer(sim)
			defer srv.Close()
			c, err := New(Options{
				BaseURL: srv.URL, API: api, AccessKey: simKey, DefaultRole: "User",
				Logger:     zaptest.NewLogger(b, zaptest.Level(zap.WarnLevel)),
				Registerer: prometheus.NewRegistry(),
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			records := 0
			for i := 0; b.Loop(); i++ {
				batch := make([]Record, MaxBatch)
				for j := range batch {
					batch[j] = newRecord(i*MaxBatch + j)
				}
				res, err := c.Create(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				updates := make([]Record, len(res))
				for j, r := range res {
					if r.Err != nil {
						b.Fatalf("create %d: %v", j, r.Err)
					}
					updates[j] = Record{"Gsid": r.GSID, "Title": fmt.Sprintf("T%d", i)}
				}
				if res, err = c.Update(ctx, updates); err != nil {
					b.Fatal(err)
				}
				for j, r := range res {
					if r.Err != nil {
						b.Fatalf("update %d: %v", j, r.Err)
					}
				}
				records += len(batch) + len(updates)
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
