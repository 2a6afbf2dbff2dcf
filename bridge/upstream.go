package bridge

import (
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// UpstreamOptions returns the Gainsight client options cfg asks for; the
// caller adds the logger, the registerer and, where the store can count
// calls, the shared Counter.
func UpstreamOptions(cfg *config.Config, version string) gainsight.Options {
	fields := make([]string, 0, len(cfg.CustomFields))
	for _, f := range cfg.CustomFields {
		fields = append(fields, f.Name)
	}
	hourWindow, dayWindow := cfg.Gainsight.Budget.Windows()
	return gainsight.Options{
		BaseURL:   cfg.Gainsight.BaseURL,
		API:       cfg.Gainsight.API,
		AccessKey: string(cfg.Gainsight.AccessKey),
		Timeout:   cfg.Gainsight.Timeout,
		PerHour:   cfg.Gainsight.Budget.PerHour,
		PerDay:    cfg.Gainsight.Budget.PerDay,
		// The urgent share of each window: deactivations may spend it when
		// the rest is gone.
		ReservedPerHour: cfg.Gainsight.Budget.Reserved(cfg.Gainsight.Budget.PerHour),
		ReservedPerDay:  cfg.Gainsight.Budget.Reserved(cfg.Gainsight.Budget.PerDay),
		HourWindow:      hourWindow,
		DayWindow:       dayWindow,
		Concurrency:     cfg.Gainsight.Concurrency,
		DefaultRole:     cfg.Gainsight.DefaultRole,
		UserAgent:       "gainsight-scim-bridge/" + version,
		// Reads must return the custom fields the bridge manages, or
		// adoption and drift repair would see them as missing.
		ListFields: fields,
	}
}
