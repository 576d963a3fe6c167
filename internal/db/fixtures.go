package db

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/flymodel/flymodel/api"
)

// FixtureSets are the names accepted by LoadFixtures and UnloadFixtures:
// the original flymodel's test data.
var FixtureSets = []string{"basic", "multi_region"}

type fixtureNamespace struct {
	name, description, region string
	models                    []string
}

var fixtures = map[string][]fixtureNamespace{
	"basic": {
		{name: "canada", description: "Flymodel Canada", region: "ca-local"},
	},
	"multi_region": {
		{name: "canada", description: "Flymodel Canada", region: "ca-local", models: []string{"llm.lg", "llm.med", "llm.sm"}},
		{name: "usa", description: "Flymodel USA", region: "us-local"},
	},
}

// fixtureBuckets are created in every fixture namespace, one per lifecycle.
var fixtureBuckets = []struct{ name, role string }{
	{"ml-test", "test"}, {"ml-qa", "qa"}, {"ml-stage", "stage"}, {"ml-prod", "prod"},
}

// fixtureVersion is the version every fixture model gets, in state test.
const fixtureVersion = "v1.0.0"

func checkFixtureSet(set string) error {
	if !slices.Contains(FixtureSets, set) {
		return fmt.Errorf("unknown test data set %q (want one of %v)", set, FixtureSets)
	}
	return nil
}

// LoadFixtures loads a named test data set in one transaction; loading it
// again changes nothing.
func LoadFixtures(ctx context.Context, s DB, set string) error {
	if err := checkFixtureSet(set); err != nil {
		return err
	}
	now := api.Timestamp(time.Now())
	return s.InTx(ctx, func(q Queries) error {
		for _, f := range fixtures[set] {
			ns, err := q.UpsertNamespace(ctx, UpsertNamespaceParams{Name: f.name, Description: f.description, Now: now})
			if err != nil {
				return fmt.Errorf("fixtures: namespace %s: %w", f.name, err)
			}
			for _, b := range fixtureBuckets {
				_, err := q.UpsertBucket(ctx, UpsertBucketParams{NamespaceID: ns.ID, Name: b.name, Region: f.region, Role: b.role, Now: now})
				if err != nil {
					return fmt.Errorf("fixtures: bucket %s: %w", b.name, err)
				}
			}
			for _, name := range f.models {
				modelID, err := q.UpsertModel(ctx, UpsertModelParams{NamespaceID: ns.ID, Name: name, Now: now})
				if err != nil {
					return fmt.Errorf("fixtures: model %s: %w", name, err)
				}
				_, err = q.InsertVersionIfMissing(ctx, InsertVersionIfMissingParams{ModelID: modelID, Version: fixtureVersion, State: "test", Now: now})
				if err != nil {
					return fmt.Errorf("fixtures: version %s %s: %w", name, fixtureVersion, err)
				}
			}
		}
		return nil
	})
}

// UnloadFixtures removes the namespaces of a test data set with everything
// in them.
func UnloadFixtures(ctx context.Context, s DB, set string) error {
	if err := checkFixtureSet(set); err != nil {
		return err
	}
	return s.InTx(ctx, func(q Queries) error {
		for _, f := range fixtures[set] {
			if _, err := q.DeleteNamespaceByName(ctx, f.name); err != nil {
				return fmt.Errorf("fixtures: delete namespace %s: %w", f.name, err)
			}
		}
		return nil
	})
}
