package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/pressly/goose/v3"
)

// Migrator applies one engine's embedded goose migrations. Engines build
// one in Open and delegate DB.Migrate and DB.MigrationStatus to it.
type Migrator struct {
	provider *goose.Provider
}

// NewMigrator reads the migrations in fsys (goose files at its root).
func NewMigrator(sqlDB *sql.DB, dialect goose.Dialect, fsys fs.FS, opts ...goose.ProviderOption) (*Migrator, error) {
	p, err := goose.NewProvider(dialect, sqlDB, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{provider: p}, nil
}

// Migrate applies pending migrations, or rolls back applied ones with Down;
// Steps limits how many (0 = all). Applying when nothing is pending is a
// no-op, so Migrate up is idempotent.
func (m *Migrator) Migrate(ctx context.Context, opts MigrateOptions) ([]MigrationResult, error) {
	var out []MigrationResult
	for opts.Steps == 0 || len(out) < opts.Steps {
		var (
			r   *goose.MigrationResult
			err error
		)
		if opts.Down {
			r, err = m.provider.Down(ctx)
		} else {
			r, err = m.provider.UpByOne(ctx)
		}
		if errors.Is(err, goose.ErrNoNextVersion) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("migrate: %w", err)
		}
		out = append(out, MigrationResult{
			Version:   r.Source.Version,
			Source:    filepath.Base(r.Source.Path),
			Direction: r.Direction,
			Duration:  r.Duration,
		})
	}
	return out, nil
}

// Status reports the applied and latest versions and the pending count.
func (m *Migrator) Status(ctx context.Context) (MigrationStatus, error) {
	statuses, err := m.provider.Status(ctx)
	if err != nil {
		return MigrationStatus{}, fmt.Errorf("migration status: %w", err)
	}
	var st MigrationStatus
	for _, s := range statuses {
		if s.Source.Version > st.Latest {
			st.Latest = s.Source.Version
		}
		if s.State == goose.StateApplied {
			if s.Source.Version > st.Current {
				st.Current = s.Source.Version
			}
		} else {
			st.Pending++
		}
	}
	return st, nil
}
