package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/flymodel/flymodel/internal/config"
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
		return nil, fmt.Errorf("log.level %q: want error, info, debug or trace", cfg.Level)
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: nameTraceLevel}

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

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
