package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/flymodel/flymodel/internal/blob"
	"github.com/flymodel/flymodel/internal/blob/fsblob"
	"github.com/flymodel/flymodel/internal/blob/s3blob"
	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/registry"
)

// staleUploadAge is how long a temporary upload file must have been left
// untouched before start-up removes it: an upload in progress writes to its
// file continuously, an interrupted one (a crash) stops.
const staleUploadAge = time.Minute

// openStores builds the blob stores of the configuration: each S3 entry
// under its bucket name, each filesystem root under "local" (every role)
// or "local-<role>"; with no storage configured, one root in the data
// folder serves every lifecycle.
func openStores(cfg *config.Config) (registry.Stores, error) {
	stores := registry.Stores{ByName: map[string]blob.Store{}, ForRole: map[string]string{}}
	for _, e := range cfg.Storage.S3 {
		st, err := s3blob.New(s3blob.Config{
			Bucket: e.Bucket, Endpoint: e.Endpoint, Region: e.Region, PathStyle: e.PathStyle,
			AccessKeyID: e.AccessKeyID, SecretAccessKey: e.SecretAccessKey,
		})
		if err != nil {
			return stores, fmt.Errorf("storage.s3 bucket %s: %w", e.Bucket, err)
		}
		stores.ByName[e.Bucket] = st
		stores.ForRole[e.Role] = e.Bucket
	}
	var catchAll string
	for _, e := range cfg.EffectiveFS() {
		name := "local"
		if e.Role != "" {
			name = "local-" + e.Role
		}
		st, err := fsblob.New(e.Path)
		if err != nil {
			return stores, fmt.Errorf("storage.fs %s: %w", e.Path, err)
		}
		stores.ByName[name] = st
		if e.Role == "" {
			catchAll = name
		} else {
			stores.ForRole[e.Role] = name
		}
	}
	if catchAll != "" {
		for _, role := range config.Lifecycles {
			if _, ok := stores.ForRole[role]; !ok {
				stores.ForRole[role] = catchAll
			}
		}
	}
	return stores, nil
}

// storeNames lists the stores in a stable order.
func storeNames(stores registry.Stores) []string {
	names := make([]string, 0, len(stores.ByName))
	for name := range stores.ByName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// checkStores runs at serve start: filesystem roots are created when
// missing (the zero-config case) and cleared of interrupted uploads; every
// store is probed. A failing probe is logged and left to /readyz, so that
// the server can start while a remote store is briefly down.
func checkStores(ctx context.Context, stores registry.Stores, logger *slog.Logger) error {
	for _, name := range storeNames(stores) {
		st := stores.ByName[name]
		if _, ok := st.(*fsblob.Store); ok {
			if err := st.Ensure(ctx); err != nil {
				return fmt.Errorf("blob store %s: %w", st, err)
			}
		}
		if n, err := st.RemoveStale(ctx, staleUploadAge); err != nil {
			logger.Warn("removing interrupted uploads failed", "store", st.String(), "err", err)
		} else if n > 0 {
			logger.Info("removed interrupted uploads", "store", st.String(), "count", n)
		}
		probeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := st.Probe(probeCtx)
		cancel()
		if err != nil {
			logger.Error("blob store not usable", "store", st.String(), "err", err)
			continue
		}
		logger.Info("blob store ready", "name", name, "store", st.String())
	}
	return nil
}

// rolesOf lists the lifecycles a store serves by default.
func rolesOf(stores registry.Stores, name string) string {
	var roles []string
	for _, role := range config.Lifecycles {
		if stores.ForRole[role] == name {
			roles = append(roles, role)
		}
	}
	if len(roles) == 0 {
		return "no default role"
	}
	return strings.Join(roles, ", ")
}
