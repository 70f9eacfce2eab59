package config

import "example.com/shop/internal/resource"

// ResourceSettings returns the settings every resource reads, so resource
// packages need not import this package.
func (c Config) ResourceSettings() resource.Settings {
	return resource.Settings{
		StoreTimeout:  c.StoreTimeout,
		BatchWorkers:  c.BatchWorkers,
		MaxBodyBytes:  c.MaxBodyBytes,
		CacheEntries:  c.CacheEntries,
		CacheMaxBytes: c.CacheMaxBytes,
		CacheTTL:      c.CacheTTL,
	}
}
