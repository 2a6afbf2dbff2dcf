package gainsighttest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Faults are the failures the simulator injects into the API calls (never
// into the admin endpoints). The random ones draw from a generator seeded
// with Seed each time the faults are set, so a run is reproducible; the
// deterministic counters (FailNext, LoseNext) count down as they fire.
type Faults struct {
	// ErrorRate is the fraction of calls answered 500 GU_1101, not applied.
	ErrorRate float64 `yaml:"errorRate" json:"errorRate"`
	// FailNext answers the next N calls 500 GU_1101, not applied.
	FailNext int `yaml:"failNext" json:"failNext"`
	// Force429 answers every call 429 GU_2400, not applied.
	Force429 bool `yaml:"force429" json:"force429"`
	// Latency delays every call before it is processed.
	Latency time.Duration `yaml:"latency" json:"latency"`
	// DropRate is the fraction of calls whose connection is closed without
	// an answer, not applied.
	DropRate float64 `yaml:"dropRate" json:"dropRate"`
	// LoseResponseRate is the fraction of writes that are applied and whose
	// connection is then closed without an answer.
	LoseResponseRate float64 `yaml:"loseResponseRate" json:"loseResponseRate"`
	// LoseNext applies the next N writes and closes their connections
	// without an answer.
	LoseNext int `yaml:"loseNext" json:"loseNext"`
	// Seed seeds the generator behind the rates.
	Seed int64 `yaml:"seed" json:"seed"`
}

// faultsJSON is Faults on the wire: Latency as a duration string ("200ms").
type faultsJSON struct {
	ErrorRate        float64 `json:"errorRate"`
	FailNext         int     `json:"failNext"`
	Force429         bool    `json:"force429"`
	Latency          string  `json:"latency"`
	DropRate         float64 `json:"dropRate"`
	LoseResponseRate float64 `json:"loseResponseRate"`
	LoseNext         int     `json:"loseNext"`
	Seed             int64   `json:"seed"`
}

// MarshalJSON writes Latency as a duration string.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		ErrorRate: f.ErrorRate, FailNext: f.FailNext, Force429: f.Force429,
		Latency: f.Latency.String(), DropRate: f.DropRate,
		LoseResponseRate: f.LoseResponseRate, LoseNext: f.LoseNext, Seed: f.Seed,
	})
}

// UnmarshalJSON reads Latency as a duration string; absent means zero.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var lat time.Duration
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		lat = d
	}
	*f = Faults{
		ErrorRate: j.ErrorRate, FailNext: j.FailNext, Force429: j.Force429,
		Latency: lat, DropRate: j.DropRate, LoseResponseRate: j.LoseResponseRate,
		LoseNext: j.LoseNext, Seed: j.Seed,
	}
	return nil
}

// Validate reports the first value of f out of range. POST /_sim/faults
// refuses such faults; SetFaults takes them as they are.
func (f Faults) Validate() error {
	rates := []struct {
		name string
		v    float64
	}{{"errorRate", f.ErrorRate}, {"dropRate", f.DropRate}, {"loseResponseRate", f.LoseResponseRate}}
	for _, r := range rates {
		if r.v < 0 || r.v > 1 {
			return fmt.Errorf("faults.%s: %v is not between 0 and 1", r.name, r.v)
		}
	}
	switch {
	case f.FailNext < 0:
		return errors.New("faults.failNext: must not be negative")
	case f.LoseNext < 0:
		return errors.New("faults.loseNext: must not be negative")
	case f.Latency < 0:
		return errors.New("faults.latency: must not be negative")
	}
	return nil
}
