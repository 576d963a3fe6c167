package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	kmaps "github.com/knadh/koanf/maps"
	kjson "github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	"github.com/titanous/json5"

	"github.com/flymodel/flymodel/api"
)

// LoadOptions says where Load looks for configuration.
type LoadOptions struct {
	File    string   // -c/--config; "" = search (see Load)
	Dir     string   // working directory for the search and a relative File; "" = "."
	Environ []string // os.Environ()-style "K=V" list; nil = no environment
	// Warn receives what is suspicious but not wrong, such as a FLYMODEL_
	// variable that sets no key; nil discards it.
	Warn func(msg string)
}

// searchPath is tried in order, relative to LoadOptions.Dir, when no file is given.
var searchPath = []string{
	"config/flymodel.toml",
	"config/flymodel.yaml",
	"config/flymodel.yml",
	"config/flymodel.json",
	"config/flymodel.json5",
	"flymodel.toml",
}

// Load reads the configuration: Default(), then the file (opts.File, else the
// first of config/flymodel.{toml,yaml,yml,json,json5} and ./flymodel.toml that
// exists, else none; the others found are Config.Shadowed), then FLYMODEL_* variables of opts.Environ. It rejects
// unknown keys and invalid values, naming each key and where it came from, and
// returns every problem found, joined.
//
// koanf layers the file and the environment; mapstructure decodes the result
// onto Default(), so that what neither sets keeps its default.
func Load(opts LoadOptions) (*Config, error) {
	path, shadowed, err := findFile(opts)
	if err != nil {
		return nil, err
	}
	var (
		k    = koanf.New(".")
		src  = sources{file: path}
		errs []error
	)
	if path != "" {
		probs, err := loadFile(k, path)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
		for _, p := range probs {
			errs = append(errs, src.errorf(p))
		}
	}
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}
	var envErrs []error
	src.env, envErrs = chooseEnv(opts.Environ, warn)
	errs = append(errs, envErrs...)
	if err := loadEnv(k, opts.Environ, src.env); err != nil {
		return nil, fmt.Errorf("config: environment: %w", err)
	}

	for _, key := range unknownKeys(k) {
		errs = append(errs, src.errorf(problem{"", fmt.Sprintf("unknown key %q", key)}))
	}
	cfg := Default()
	err = k.UnmarshalWithConf("", cfg, decoding(decodeValues, nil))
	for _, p := range decodeProblems(err) {
		errs = append(errs, src.errorf(p))
	}
	cfg.normalize()
	cfg.Source, cfg.Shadowed = path, shadowed
	cfg.EnvVars = slices.Sorted(maps.Values(src.env))
	for _, p := range cfg.problems() {
		errs = append(errs, src.errorf(p))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// findFile returns the file to read, "" for none, and the other files of
// the search path that exist (read by no one unless -c names them).
func findFile(opts LoadOptions) (string, []string, error) {
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	if opts.File != "" {
		path := opts.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", nil, fmt.Errorf("config: %s: file does not exist", path)
			}
			return "", nil, fmt.Errorf("config: %w", err)
		}
		return path, nil, nil
	}
	var found []string
	for _, name := range searchPath {
		path := filepath.Join(dir, name)
		switch info, err := os.Stat(path); {
		case err == nil && !info.IsDir():
			found = append(found, path)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return "", nil, fmt.Errorf("config: %w", err)
		}
	}
	switch len(found) {
	case 0:
		return "", nil, nil
	case 1:
		return found[0], nil, nil
	}
	return found[0], found[1:], nil
}

// Sources says where the configuration came from, for a log line: the
// file, the environment variables that set keys, "defaults" if neither.
func (c *Config) Sources() []string {
	var out []string
	if c.Source != "" {
		out = append(out, "file "+c.Source)
	}
	if len(c.EnvVars) > 0 {
		out = append(out, "environment "+strings.Join(c.EnvVars, ", "))
	}
	if len(out) == 0 {
		out = append(out, "defaults")
	}
	return out
}

// loadFile loads path into k with the parser its extension names, merging
// its lifecycle tables on the way (mergeLifecycleTables).
func loadFile(k *koanf.Koanf, path string) ([]problem, error) {
	var p koanf.Parser
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".toml":
		p = toml.Parser()
	case ".yaml", ".yml":
		p = yaml.Parser()
	case ".json":
		p = kjson.Parser()
	case ".json5":
		p = json5Parser{}
	default:
		return nil, fmt.Errorf("unknown file type %q (want .toml, .yaml, .yml, .json or .json5)", ext)
	}
	var probs []problem
	err := k.Load(file.Provider(path), p, koanf.WithMergeFunc(func(src, dest map[string]any) error {
		probs = mergeLifecycleTables(src)
		kmaps.Merge(src, dest)
		return nil
	}))
	return probs, err
}

// json5Parser is a koanf.Parser for JSON5 (comments, trailing commas, …),
// which koanf does not ship.
type json5Parser struct{}

// Unmarshal parses JSON5 into a map.
func (json5Parser) Unmarshal(b []byte) (map[string]any, error) {
	var m map[string]any
	err := json5.Unmarshal(b, &m)
	return m, err
}

// Marshal writes plain JSON, which is valid JSON5.
func (json5Parser) Marshal(m map[string]any) ([]byte, error) { return json.Marshal(m) }

// canonicalLifecycle maps the original flymodel's "staging" to "stage".
func canonicalLifecycle(s string) string {
	return api.CanonicalLifecycle(s)
}

// mergeLifecycleTables rewrites a file's promotion and retention sections in
// place into the shape they decode from, before the environment is layered
// over them: one table per lifecycle whether the file wrote a table
// ([retention.prod]) or an array of tables ([[retention.prod]], the original
// flymodel's form), and "staging" merged into "stage". A field set twice to
// different values is a problem.
func mergeLifecycleTables(raw map[string]any) []problem {
	var probs []problem
	for _, section := range []string{"promotion", "retention"} {
		tables, ok := raw[section].(map[string]any)
		if !ok {
			continue
		}
		out := map[string]any{}
		for _, name := range slices.Sorted(maps.Keys(tables)) {
			canon := canonicalLifecycle(name)
			key := section + "." + name
			entries, isList := tables[name].([]any)
			if !isList {
				if _, isTable := tables[name].(map[string]any); !isTable {
					out[canon] = tables[name] // not a table: decoding reports it
					continue
				}
				entries = []any{tables[name]}
			}
			merged, _ := out[canon].(map[string]any)
			if merged == nil {
				merged = map[string]any{}
				out[canon] = merged
			}
			for i, e := range entries {
				entryKey := key
				if isList {
					entryKey = fmt.Sprintf("%s[%d]", key, i)
				}
				entry, ok := e.(map[string]any)
				if !ok {
					probs = append(probs, problem{entryKey, fmt.Sprintf("want a table, got %v", e)})
					continue
				}
				for _, f := range slices.Sorted(maps.Keys(entry)) {
					if old, set := merged[f]; set && !reflect.DeepEqual(old, entry[f]) {
						probs = append(probs, problem{entryKey + "." + f, fmt.Sprintf("set twice, to %v and %v", old, entry[f])})
						continue
					}
					merged[f] = entry[f]
				}
			}
		}
		raw[section] = out
	}
	return probs
}

// decoding is how Load decodes koanf's map with mapstructure: koanf tags,
// matched case-sensitively as the unknown-key check does, through hook.
func decoding(hook mapstructure.DecodeHookFunc, md *mapstructure.Metadata) koanf.UnmarshalConf {
	return koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook: hook,
		TagName:    "koanf",
		MatchName:  func(key, field string) bool { return key == field },
		Metadata:   md,
	}}
}

// unknownKeys lists the dotted keys of k that Config has no field for, from
// mapstructure's Metadata.Unused. mapstructure lists a table's unused keys
// only if every value in it decoded, so this decode (keysOnly) decodes no
// value and skips values of the wrong shape: it cannot fail.
func unknownKeys(k *koanf.Koanf) []string {
	var md mapstructure.Metadata
	_ = k.UnmarshalWithConf("", new(Config), decoding(keysOnly, &md))
	keys := make([]string, len(md.Unused))
	for i, key := range md.Unused {
		keys[i] = mapIndex.ReplaceAllString(key, ".$1")
	}
	slices.Sort(keys)
	return keys
}

// keysOnly is the decode hook of unknownKeys: it passes on tables and lists
// to the fields that take them, and nothing else.
func keysOnly(_, to reflect.Type, data any) (any, error) {
	if v, ok := data.(envValue); ok {
		data = envJSON(v)
	}
	switch to.Kind() {
	case reflect.Struct, reflect.Map:
		if m, ok := data.(map[string]any); ok {
			return m, nil
		}
	case reflect.Slice:
		if s, ok := data.([]any); ok {
			return s, nil
		}
	}
	return nil, nil
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	tlsCertsType = reflect.TypeFor[TLSCerts]()
	s3Type       = reflect.TypeFor[S3Storage]()
)

// decodeValues is the decode hook of the values, each of them small.
var decodeValues = mapstructure.ComposeDecodeHookFunc(
	fromEnvironment, tablesNotTable, tlsCertsFromString, pathStyleByDefault, durationFromString, wholeNumbers,
)

// errOneTable is a list of tables ([[storage.s3]]) written as one table
// ([storage.s3]); decodeProblems says how to write it, naming the key.
var errOneTable = errors.New("one table where a list of tables is wanted")

// tablesNotTable refuses one table for a list of tables.
func tablesNotTable(_, to reflect.Type, data any) (any, error) {
	if _, ok := data.(map[string]any); ok && to.Kind() == reflect.Slice && to.Elem().Kind() == reflect.Struct {
		return nil, errOneTable
	}
	return data, nil
}

// tlsCertsFromString decodes the one-PEM-file form of TLSCerts.
func tlsCertsFromString(_, to reflect.Type, data any) (any, error) {
	if s, ok := data.(string); ok && to == tlsCertsType {
		return TLSCerts{PEMFile: s}, nil
	}
	return data, nil
}

// pathStyleByDefault sets path_style of a storage.s3 entry that leaves it out.
func pathStyleByDefault(_, to reflect.Type, data any) (any, error) {
	if m, ok := data.(map[string]any); ok && to == s3Type {
		if _, set := m["path_style"]; !set {
			m = maps.Clone(m)
			m["path_style"] = true
			return m, nil
		}
	}
	return data, nil
}

// durationFromString parses durations from strings only: a bare number
// would silently be nanoseconds.
func durationFromString(_, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch v := data.(type) {
	case time.Duration:
		return v, nil
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q (want e.g. \"30s\")", v)
		}
		return d, nil
	}
	return nil, fmt.Errorf("want a duration string such as \"30s\", got %v", data)
}

// wholeNumbers refuses to truncate a fractional number into an integer.
func wholeNumbers(from, to reflect.Type, data any) (any, error) {
	if (to.Kind() == reflect.Int || to.Kind() == reflect.Int64) && (from.Kind() == reflect.Float64 || from.Kind() == reflect.Float32) {
		if f := reflect.ValueOf(data).Float(); f != math.Trunc(f) {
			return nil, fmt.Errorf("want an integer, got %v", f)
		}
	}
	return data, nil
}

// problem is one invalid key, before it is attributed to a source.
type problem struct{ key, msg string }

// sources says where keys came from, to name it in errors.
type sources struct {
	file string            // "" = no file
	env  map[string]string // key → environment variable that set it
}

// errorf formats p, naming the environment variable that set p.key (or a
// parent of it), else the file, else nothing (defaults, derived values).
func (s sources) errorf(p problem) error {
	key, _, _ := strings.Cut(p.key, "[")
	for k := key; k != ""; {
		if name, ok := s.env[k]; ok {
			return fmt.Errorf("config: %s: %s: %s", name, p.key, p.msg)
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	switch {
	case s.file != "" && p.key != "":
		return fmt.Errorf("config: %s: %s: %s", s.file, p.key, p.msg)
	case s.file != "" || p.key != "":
		return fmt.Errorf("config: %s: %s", s.file+p.key, p.msg)
	}
	return fmt.Errorf("config: %s", p.msg)
}

// mapIndex matches a map key in a mapstructure field name: promotion[prod].
var mapIndex = regexp.MustCompile(`\[([^\]0-9][^\]]*)\]`)

// decodeProblems turns the decoder's (wrapped, joined) errors into problems
// keyed by the dotted key.
func decodeProblems(err error) []problem {
	isDecode := func(err error) bool { return errors.As(err, new(*mapstructure.DecodeError)) }
	switch e := err.(type) {
	case nil:
		return nil
	case *mapstructure.DecodeError:
		if isDecode(e.Unwrap()) {
			return decodeProblems(e.Unwrap())
		}
		key := mapIndex.ReplaceAllString(e.Name(), ".$1")
		if errors.Is(e.Unwrap(), errOneTable) {
			return []problem{{key, fmt.Sprintf("%v: write [[%s]], with double brackets, once per entry (in YAML or JSON, a list)", errOneTable, key)}}
		}
		return []problem{{key, e.Unwrap().Error()}}
	case interface{ Unwrap() []error }:
		var out []problem
		for _, inner := range e.Unwrap() {
			out = append(out, decodeProblems(inner)...)
		}
		return out
	case interface{ Unwrap() error }:
		if isDecode(e.Unwrap()) {
			return decodeProblems(e.Unwrap())
		}
	}
	return []problem{{"", err.Error()}}
}

// normalize applies the aliases: "staging" roles and states become "stage",
// and an fs role "*" becomes "" (every role).
func (c *Config) normalize() {
	for i := range c.Storage.S3 {
		c.Storage.S3[i].Role = canonicalLifecycle(c.Storage.S3[i].Role)
	}
	for i := range c.Storage.FS {
		if c.Storage.FS[i].Role == "*" {
			c.Storage.FS[i].Role = ""
		}
		c.Storage.FS[i].Role = canonicalLifecycle(c.Storage.FS[i].Role)
	}
	c.Upsert.State = canonicalLifecycle(c.Upsert.State)
	for i := range c.Aliases.Protected {
		c.Aliases.Protected[i].Lifecycle = canonicalLifecycle(c.Aliases.Protected[i].Lifecycle)
	}
	if c.Log.Level == "warning" {
		c.Log.Level = "warn"
	}
}
