package registry

import (
	"context"
	"errors"
	"time"

	"github.com/flymodel/flymodel/internal/db"
)

// RetentionRule keeps a lifecycle's versions (Models) and experiment runs
// (Runs) for a number of days; nil keeps them forever.
type RetentionRule struct {
	Models *int
	Runs   *int
}

// RetentionReport lists what retention removed (or, dry, would remove),
// by API path.
type RetentionReport struct {
	Versions    []string `json:"versions"`
	Experiments []string `json:"experiments"`
	Blobs       int      `json:"blobs"`
}

// retentionBatch bounds the rows read per query.
const retentionBatch = 200

// expiry is what retention removes of one kind: versions that entered a
// lifecycle more than Models days ago, or experiments (of versions in it)
// created more than Runs days ago, each with its artifacts.
type expiry struct {
	days   func(RetentionRule) *int
	action string
	list   func(ctx context.Context, q db.Queries, state string, before time.Time, after int64) ([]expired, error)
	remove func(ctx context.Context, q db.Queries, id int64) (int64, error)
	report func(*RetentionReport) *[]string
}

// expired is a version or an experiment past its retention.
type expired struct {
	id, versionID   int64
	experimentID    *int64 // set for an experiment
	namespace, path string
	model           string // set for a version
}

var expiries = []expiry{{
	days:   func(rule RetentionRule) *int { return rule.Models },
	action: "version.expire",
	list: func(ctx context.Context, q db.Queries, state string, before time.Time, after int64) ([]expired, error) {
		rows, err := q.ListExpiredVersions(ctx, db.ListExpiredVersionsParams{State: state, Before: before, AfterID: after, PageLimit: retentionBatch})
		return convert(rows, func(v db.ListExpiredVersionsRow) expired {
			return expired{id: v.ID, versionID: v.ID, namespace: v.Namespace, model: v.Model, path: versionPath(v.Namespace, v.Model, v.Version)}
		}), err
	},
	remove: func(ctx context.Context, q db.Queries, id int64) (int64, error) {
		// A purged version leaves the lineage of the versions naming it.
		if _, err := q.DeleteParentLinks(ctx, id); err != nil {
			return 0, err
		}
		return q.DeleteVersion(ctx, id)
	},
	report: func(rep *RetentionReport) *[]string { return &rep.Versions },
}, {
	days:   func(rule RetentionRule) *int { return rule.Runs },
	action: "experiment.expire",
	list: func(ctx context.Context, q db.Queries, state string, before time.Time, after int64) ([]expired, error) {
		rows, err := q.ListExpiredExperiments(ctx, db.ListExpiredExperimentsParams{State: state, Before: before, AfterID: after, PageLimit: retentionBatch})
		return convert(rows, func(e db.ListExpiredExperimentsRow) expired {
			return expired{id: e.ID, versionID: e.VersionID, experimentID: &e.ID, namespace: e.Namespace,
				path: experimentPath(e.Namespace, e.Model, e.Version, e.Name)}
		}), err
	},
	remove: func(ctx context.Context, q db.Queries, id int64) (int64, error) { return q.DeleteExperiment(ctx, id) },
	report: func(rep *RetentionReport) *[]string { return &rep.Experiments },
}}

// Retention removes, per lifecycle, the versions that entered it more than
// Models days ago and the experiments (of versions in it) created more than
// Runs days ago, with their artifacts and the blobs no one else uses.
func (r *Registry) Retention(ctx context.Context, rules map[string]RetentionRule, dry bool) (RetentionReport, error) {
	rep := RetentionReport{Versions: []string{}, Experiments: []string{}}
	now := r.now()
	for _, state := range Lifecycles {
		for _, x := range expiries {
			if days := x.days(rules[state]); days != nil {
				before := now.Add(-time.Duration(*days) * 24 * time.Hour)
				if err := r.expire(ctx, x, state, before, dry, &rep); err != nil {
					return rep, err
				}
			}
		}
	}
	return rep, nil
}

func (r *Registry) expire(ctx context.Context, x expiry, state string, before time.Time, dry bool, rep *RetentionReport) error {
	for after := int64(0); ; {
		rows, err := x.list(ctx, r.db, state, before, after)
		if err != nil {
			return err
		}
		for _, e := range rows {
			after = e.id
			paths := x.report(rep)
			*paths = append(*paths, e.path)
			if dry {
				continue
			}
			var blobs []int64
			err := r.write(ctx, func(q db.Queries) error {
				var err error
				blobs, err = q.ListArtifactBlobIDs(ctx, db.ListArtifactBlobIDsParams{VersionID: e.versionID, ExperimentID: e.experimentID})
				if err != nil {
					return err
				}
				if e.experimentID == nil {
					if err := r.dropVersionAliases(ctx, q, e.namespace, e.model, e.id); err != nil {
						return err
					}
				}
				if _, err = x.remove(ctx, q, e.id); err != nil {
					return err
				}
				return r.record(ctx, q, x.action, e.namespace, e.path, map[string]any{"state": state, "before": before})
			})
			if err != nil {
				return err
			}
			if err := r.purgeBlobs(ctx, blobs, rep); err != nil {
				return err
			}
		}
		if len(rows) < retentionBatch {
			return nil
		}
	}
}

// purgeBlobs removes the blobs that no artifact references any more (a
// blob shared with an artifact that stays is kept).
func (r *Registry) purgeBlobs(ctx context.Context, ids []int64, rep *RetentionReport) error {
	for _, id := range ids {
		b, err := r.db.GetBlob(ctx, id)
		if errors.Is(err, db.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		dropped, err := r.dropBlob(ctx, b)
		if err != nil {
			return err
		}
		if dropped {
			rep.Blobs++
		}
	}
	return nil
}
