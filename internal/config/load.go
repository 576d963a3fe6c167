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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-viper/mapstructure/v2"
	kmaps "github.com/knadh/koanf/maps"
	kjson "github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"github.com/titanous/json5"

	"github.com/flymodel/flymodel/api"
)

// LoadOptions says where Load looks for configuration.
type LoadOptions struct {
	File    string   // -c/--config; "" = search (see Load)
	Dir     string   // working directory for the search and a relative File; "" = "."
	Environ []string // os.Environ()-style "K=V" list; nil = no environment
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
// exists, else none), then FLYMODEL_* variables of opts.Environ. It rejects
// unknown keys and invalid values, naming each key and where it came from, and
// returns every problem found, joined.
func Load(opts LoadOptions) (*Config, error) {
	path, err := findFile(opts)
	if err != nil {
		return nil, err
	}
	var (
		k    = koanf.New(".")
		errs []error
		src  = sources{file: path}
	)
	if path != "" {
		raw, err := readFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
		for _, p := range normalizeFile(raw) {
			errs = append(errs, src.errorf(p))
		}
		for _, key := range unknownKeys("", raw, configType) {
			errs = append(errs, fmt.Errorf("config: %s: unknown key %q", path, key))
		}
		if err := k.Load(confmap.Provider(raw, ""), nil); err != nil {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	env, envFrom, envErrs := fromEnviron(opts.Environ)
	src.env = envFrom
	errs = append(errs, envErrs...)
	if err := k.Load(confmap.Provider(env, ""), nil); err != nil {
		return nil, fmt.Errorf("config: environment: %w", err)
	}

	cfg := Default()
	err = k.UnmarshalWithConf("", cfg, koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook: decodeHook,
		TagName:    "koanf",
	}})
	for _, p := range decodeProblems(err) {
		errs = append(errs, src.errorf(p))
	}
	cfg.normalize()
	cfg.Source = path
	for _, p := range cfg.problems() {
		errs = append(errs, src.errorf(p))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// findFile returns the file to read, "" for none.
func findFile(opts LoadOptions) (string, error) {
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
				return "", fmt.Errorf("config: %s: file does not exist", path)
			}
			return "", fmt.Errorf("config: %w", err)
		}
		return path, nil
	}
	for _, name := range searchPath {
		path := filepath.Join(dir, name)
		switch info, err := os.Stat(path); {
		case err == nil && !info.IsDir():
			return path, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("config: %w", err)
		}
	}
	return "", nil
}

// readFile parses path with the parser its extension names.
func readFile(path string) (map[string]any, error) {
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
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := p.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		raw = map[string]any{}
	}
	kmaps.IntfaceKeysToStrings(raw)
	return raw, nil
}

// json5Parser is a koanf.Parser for JSON5 (comments, trailing commas, …).
type json5Parser struct{}

// Unmarshal parses JSON5 into a map.
func (json5Parser) Unmarshal(b []byte) (map[string]any, error) {
	var m map[string]any
	err := json5.Unmarshal(b, &m)
	return m, err
}

// Marshal writes plain JSON, which is valid JSON5.
func (json5Parser) Marshal(m map[string]any) ([]byte, error) { return json.Marshal(m) }

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

// canonicalLifecycle maps the original flymodel's "staging" to "stage".
func canonicalLifecycle(s string) string {
	return api.CanonicalLifecycle(s)
}

// normalizeFile rewrites a parsed file in place into the shape the structs
// decode: lifecycle tables given as arrays of tables ([[retention.prod]]) are
// merged into one table, "staging" keys become "stage", and each storage.s3
// entry without path_style gets the default, true.
func normalizeFile(raw map[string]any) []problem {
	var probs []problem
	for _, section := range []string{"promotion", "retention"} {
		m, ok := raw[section].(map[string]any)
		if !ok {
			continue
		}
		out := map[string]any{}
		for _, name := range slices.Sorted(maps.Keys(m)) {
			canon := canonicalLifecycle(name)
			var entries []any
			switch v := m[name].(type) {
			case []any:
				entries = v
			case map[string]any:
				entries = []any{v}
			default:
				out[canon] = v // not a table: decoding reports it
				continue
			}
			merged, _ := out[canon].(map[string]any)
			if merged == nil {
				merged = map[string]any{}
				out[canon] = merged
			}
			for i, e := range entries {
				key := section + "." + name
				if _, isList := m[name].([]any); isList {
					key = fmt.Sprintf("%s[%d]", key, i)
				}
				entry, ok := e.(map[string]any)
				if !ok {
					probs = append(probs, problem{key, fmt.Sprintf("want a table, got %v", e)})
					continue
				}
				for _, f := range slices.Sorted(maps.Keys(entry)) {
					if old, set := merged[f]; set && !reflect.DeepEqual(old, entry[f]) {
						probs = append(probs, problem{key + "." + f, fmt.Sprintf("set twice, to %v and %v", old, entry[f])})
						continue
					}
					merged[f] = entry[f]
				}
			}
		}
		raw[section] = out
	}
	if storage, ok := raw["storage"].(map[string]any); ok {
		if s3, ok := storage["s3"].([]any); ok {
			for _, e := range s3 {
				if entry, ok := e.(map[string]any); ok {
					if _, set := entry["path_style"]; !set {
						entry["path_style"] = true
					}
				}
			}
		}
	}
	return probs
}

var (
	configType   = reflect.TypeFor[Config]()
	tlsCertsType = reflect.TypeFor[TLSCerts]()
	durationType = reflect.TypeFor[time.Duration]()
)

// fieldByTag finds the field of struct type t whose koanf tag is key.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := f.Tag.Get("koanf"); tag != "" && tag != "-" && tag == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// unknownKeys lists the dotted keys of v that type t has no field for. Values of
// the wrong shape are left to the decoder, which reports them.
func unknownKeys(prefix string, v any, t reflect.Type) []string {
	var out []string
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			f, ok := fieldByTag(t, k)
			if !ok {
				out = append(out, joinKey(prefix, k))
				continue
			}
			out = append(out, unknownKeys(joinKey(prefix, k), m[k], f.Type)...)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok || t.Elem().Kind() != reflect.Struct {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, unknownKeys(joinKey(prefix, k), m[k], t.Elem())...)
		}
	case reflect.Slice:
		s, ok := v.([]any)
		if !ok || t.Elem().Kind() != reflect.Struct {
			return nil
		}
		for i, e := range s {
			out = append(out, unknownKeys(fmt.Sprintf("%s[%d]", prefix, i), e, t.Elem())...)
		}
	}
	return out
}

// envKey is a key that an environment variable sets.
type envKey struct {
	key  string
	typ  reflect.Type
	rank int // when two variables set one key, the higher rank wins
}

// envKeys maps each environment variable name to the key it sets: FLYMODEL_ plus
// the dotted key upper-cased, dots as underscores, for every scalar and list key
// of Config (lifecycle maps expanded, "staging" as an alias). Arrays of tables
// and free-form maps are file-only. Built from the struct tags, so names with
// underscores match exactly and never by splitting.
var envKeys = sync.OnceValue(func() map[string]envKey {
	out := map[string]envKey{
		"DB_URL":          {"database.url", reflect.TypeFor[string](), 0},
		"FLYMODEL_SERVER": {"client.server", reflect.TypeFor[string](), 0},
		"FLYMODEL_TOKEN":  {"client.token", reflect.TypeFor[string](), 0},
	}
	var walk func(prefix string, t reflect.Type)
	add := func(key string, t reflect.Type) {
		name := "FLYMODEL_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		canon := strings.Replace(key, ".staging.", ".stage.", 1)
		rank := 1
		if canon != key {
			rank = 0
		}
		if _, dup := out[name]; dup {
			panic("config: two keys share the environment variable " + name)
		}
		out[name] = envKey{canon, t, rank}
	}
	walk = func(prefix string, t reflect.Type) {
		if t == tlsCertsType {
			add(prefix, t) // the one-PEM-file string form
		}
		switch t.Kind() {
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				if tag := f.Tag.Get("koanf"); tag != "" && tag != "-" {
					walk(joinKey(prefix, tag), f.Type)
				}
			}
		case reflect.Map:
			if t.Elem().Kind() == reflect.Struct {
				for _, lc := range append(slices.Clone(Lifecycles), "staging") {
					walk(prefix+"."+lc, t.Elem())
				}
			}
		case reflect.Slice:
			if t.Elem().Kind() == reflect.String {
				add(prefix, t)
			}
		default:
			add(prefix, t)
		}
	}
	walk("", configType)
	return out
})

// fromEnviron turns the recognised, non-empty variables of environ into a
// nested map of typed values, and reports which variable set each key.
func fromEnviron(environ []string) (map[string]any, map[string]string, []error) {
	type setting struct {
		envKey
		name, value string
	}
	chosen := map[string]setting{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || value == "" {
			continue // empty is unset: DB_URL= must not silently mean SQLite
		}
		ek, ok := envKeys()[name]
		if !ok {
			continue
		}
		if old, set := chosen[ek.key]; set && old.rank > ek.rank {
			continue
		}
		chosen[ek.key] = setting{ek, name, value}
	}
	out, from := map[string]any{}, map[string]string{}
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(chosen)) {
		s := chosen[key]
		v, err := parseEnv(s.typ, s.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %s: %w", s.name, key, err))
			continue
		}
		if parent := setPath(out, key, v); parent != "" {
			errs = append(errs, fmt.Errorf("config: %s: %s: conflicts with %s (%s)", s.name, key, from[parent], parent))
			continue
		}
		from[key] = s.name
	}
	return out, from, errs
}

// setPath sets the dotted key in m, creating tables on the way. If a scalar
// already sits on the path, it sets nothing and returns that scalar's key.
func setPath(m map[string]any, key string, v any) (conflict string) {
	parts := strings.Split(key, ".")
	for i, p := range parts[:len(parts)-1] {
		next, exists := m[p]
		if !exists {
			next = map[string]any{}
			m[p] = next
		}
		sub, ok := next.(map[string]any)
		if !ok {
			return strings.Join(parts[:i+1], ".")
		}
		m = sub
	}
	m[parts[len(parts)-1]] = v
	return ""
}

// parseEnv converts an environment value to the type of its key.
func parseEnv(t reflect.Type, s string) (any, error) {
	switch {
	case t == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q (want e.g. \"30s\")", s)
		}
		return d, nil
	case t == tlsCertsType:
		return s, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("invalid boolean %q", s)
		}
		return b, nil
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid integer %q", s)
		}
		return n, nil
	case reflect.Pointer:
		return parseEnv(t.Elem(), s)
	case reflect.Slice: // []string, comma-separated
		list := []string{}
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		return list, nil
	}
	return s, nil
}

// decodeHook parses durations from strings only (a bare number would silently
// be nanoseconds), decodes the string form of TLSCerts, and refuses to truncate
// fractional numbers into integers.
func decodeHook(from, to reflect.Type, data any) (any, error) {
	switch {
	case to == durationType:
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
	case to == tlsCertsType:
		if s, ok := data.(string); ok {
			return TLSCerts{PEMFile: s}, nil
		}
	case to.Kind() == reflect.Int || to.Kind() == reflect.Int64:
		if from.Kind() == reflect.Float64 || from.Kind() == reflect.Float32 {
			if f := reflect.ValueOf(data).Float(); f != math.Trunc(f) {
				return nil, fmt.Errorf("want an integer, got %v", f)
			}
		}
	}
	return data, nil
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
		return []problem{{mapIndex.ReplaceAllString(e.Name(), ".$1"), e.Unwrap().Error()}}
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
}
