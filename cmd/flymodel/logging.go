package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/redact"
)

// levelTrace is below debug: the log.level "trace" of the configuration.
const levelTrace = slog.LevelDebug - 4

// newLogger makes the logger of the configuration log section, writing to w:
// text on a terminal (or format text), JSON otherwise (or format json).
func newLogger(cfg config.Log, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch strings.ToLower(cfg.Level) {
	case "error":
		level = slog.LevelError
	case "warn", "warning":
		level = slog.LevelWarn
	case "", "info":
		level = slog.LevelInfo
	case "debug":
		level = slog.LevelDebug
	case "trace":
		level = levelTrace
	default:
		return nil, fmt.Errorf("log.level %q: want error, warn, info, debug or trace", cfg.Level)
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		return redactAttr(nameTraceLevel(groups, a))
	}}

	switch strings.ToLower(cfg.Format) {
	case "", "auto":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log.format %q: want auto, text or json", cfg.Format)
	}
}

// nameTraceLevel prints levelTrace as TRACE rather than DEBUG-4.
func nameTraceLevel(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey && len(groups) == 0 {
		if level, ok := a.Value.Any().(slog.Level); ok && level <= levelTrace {
			a.Value = slog.StringValue("TRACE")
		}
	}
	return a
}

// redactAttr masks the credentials of any URL in a string or error value
// (a database URL, an endpoint, an error that echoes its URL): no log line
// shows a password, whoever logged it.
func redactAttr(a slog.Attr) slog.Attr {
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		if s := v.String(); mayHoldSecret(s) {
			a.Value = slog.StringValue(redact.URL(s))
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok && mayHoldSecret(err.Error()) {
			a.Value = slog.AnyValue(redact.Error(err))
		}
	}
	return a
}

// mayHoldSecret is the cheap test that spares most values (methods,
// paths, ids) the regular expressions.
func mayHoldSecret(s string) bool { return strings.Contains(s, "://") || strings.Contains(s, "=") }

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
