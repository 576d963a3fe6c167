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

// Retention removes, per lifecycle, the versions that entered it more than
// Models days ago and the experiments (of versions in it) created more than
// Runs days ago, with their artifacts and the blobs no one else uses.
func (r *Registry) Retention(ctx context.Context, rules map[string]RetentionRule, dry bool) (RetentionReport, error) {
	rep := RetentionReport{Versions: []string{}, Experiments: []string{}}
	now := r.now()
	for _, state := range Lifecycles {
		rule := rules[state]
		if rule.Models != nil {
			before := now.Add(-time.Duration(*rule.Models) * 24 * time.Hour)
			if err := r.expireVersions(ctx, state, before, dry, &rep); err != nil {
				return rep, err
			}
		}
		if rule.Runs != nil {
			before := now.Add(-time.Duration(*rule.Runs) * 24 * time.Hour)
			if err := r.expireExperiments(ctx, state, before, dry, &rep); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

func (r *Registry) expireVersions(ctx context.Context, state string, before time.Time, dry bool, rep *RetentionReport) error {
	for after := int64(0); ; {
		rows, err := r.store.ListExpiredVersions(ctx, db.ListExpiredVersionsParams{State: state, Before: before, AfterID: after, PageLimit: retentionBatch})
		if err != nil {
			return err
		}
		for _, v := range rows {
			after = v.ID
			rep.Versions = append(rep.Versions, versionPath(v.Namespace, v.Model, v.Version))
			if dry {
				continue
			}
			var blobs []int64
			err := r.write(ctx, func(q db.Queries) error {
				var err error
				if blobs, err = q.ListVersionBlobIDs(ctx, v.ID); err != nil {
					return err
				}
				if _, err = q.DeleteVersion(ctx, v.ID); err != nil {
					return err
				}
				return r.record(ctx, q, "version.expire", v.Namespace, versionPath(v.Namespace, v.Model, v.Version),
					map[string]any{"state": state, "before": before})
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

func (r *Registry) expireExperiments(ctx context.Context, state string, before time.Time, dry bool, rep *RetentionReport) error {
	for after := int64(0); ; {
		rows, err := r.store.ListExpiredExperiments(ctx, db.ListExpiredExperimentsParams{State: state, Before: before, AfterID: after, PageLimit: retentionBatch})
		if err != nil {
			return err
		}
		for _, e := range rows {
			after = e.ID
			rep.Experiments = append(rep.Experiments, experimentPath(e.Namespace, e.Model, e.Version, e.Name))
			if dry {
				continue
			}
			var blobs []int64
			err := r.write(ctx, func(q db.Queries) error {
				var err error
				if blobs, err = q.ListExperimentBlobIDs(ctx, e.ID); err != nil {
					return err
				}
				if _, err = q.DeleteExperiment(ctx, e.ID); err != nil {
					return err
				}
				return r.record(ctx, q, "experiment.expire", e.Namespace, experimentPath(e.Namespace, e.Model, e.Version, e.Name),
					map[string]any{"state": state, "before": before})
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
		b, err := r.store.GetBlob(ctx, id)
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
