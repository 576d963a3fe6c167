package main

import "github.com/spf13/cobra"

func (a *app) newUpsertCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "upsert",
		Short: "Idempotently register a namespace, model, version, experiments and their files",
		Long: `Create what is missing (namespace, model, version, experiments), upload the
files the registry does not have yet, and move the state last. A rerun with
the same inputs changes nothing. What to register comes from the [upsert]
section of the configuration and from these flags; with --dry, print the plan.

Without a server (--server, FLYMODEL_SERVER or client.server), register into
the local data folder that "flymodel serve" uses by default.`,
		Args: cobra.NoArgs,
		RunE: notImplemented,
	}
	f := cmd.Flags()
	f.String("server", "", "flymodel server URL (env FLYMODEL_SERVER, config client.server)")
	f.String("token", "", "API token (env FLYMODEL_TOKEN, config client.token)")
	f.String("namespace", "", "namespace")
	f.String("model", "", "model name")
	f.String("version", "", "model version, e.g. v0.1.0")
	f.String("state", "", "lifecycle state to move the version to: test, qa, stage or prod")
	f.StringArray("artifact", nil, "NAME=PATH of a file (or a folder: every file under it) to upload; repeatable")
	f.String("extra", "", "JSON object stored with the artifacts")
	f.String("format", "", "artifact format, e.g. json, parquet")
	f.String("encode", "", "artifact encoding, e.g. uncompressed, gzip, zstd")
	f.StringArray("experiment", nil, "experiment name; repeatable")
	f.String("experiment-state", "", "state to record for the experiments: created, running, passed or failed")
	f.String("metrics", "", "JSON object of experiment metrics")
	f.String("output", "text", "result format: text or json")
	return cmd
}
