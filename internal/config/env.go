package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"

	"github.com/flymodel/flymodel/api"
)

// envVar is what one environment variable sets.
type envVar struct {
	key   string // dotted
	alias bool   // a second name of key, beaten by the first
}

// envName is the variable that sets key: FLYMODEL_ and the key upper-cased,
// dots as underscores.
func envName(key string) string {
	return "FLYMODEL_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// envVars maps each variable that sets a key to it, and lists the keys that
// only a JSON value sets from the environment (arrays of tables, free-form
// tables: FLYMODEL_STORAGE_S3='[{"bucket": "models", …}]'). Variable names are made from
// keys, never keys from names, so that a key with an underscore
// (server.temp_dir) is matched whole. The keys are Config's koanf tags, read
// by koanf's structs provider from a Config that has every lifecycle.
var envVars = sync.OnceValues(func() (map[string]envVar, []string) {
	every := Default()
	every.Promotion, every.Retention = map[string]Promotion{}, map[string]Retention{}
	for _, lc := range Lifecycles {
		every.Promotion[lc], every.Retention[lc] = Promotion{}, Retention{}
	}
	k := koanf.New(".")
	if err := k.Load(structs.Provider(every, "koanf"), nil); err != nil {
		panic(err)
	}
	vars := map[string]envVar{
		"DB_URL":          {"database.url", true},
		"FLYMODEL_SERVER": {"client.server", true},
		"FLYMODEL_TOKEN":  {"client.token", true},
	}
	add := func(name, key string, alias bool) {
		if _, dup := vars[name]; dup {
			panic("config: two keys share the environment variable " + name)
		}
		vars[name] = envVar{key, alias}
	}
	var fileOnly []string
	for key, v := range k.All() {
		add(envName(key), key, false)
		switch v.(type) {
		case []any, map[string]string:
			// A list of tables or a free-form table: its variable
			// takes it whole, as JSON; nothing sets its parts.
			fileOnly = append(fileOnly, key)
			continue
		}
		if staging := strings.Replace(key, "."+api.Stage+".", "."+api.Staging+".", 1); staging != key {
			add(envName(staging), key, true)
		}
		if certs, ok := strings.CutSuffix(key, ".certs.cert_file"); ok {
			add(envName(certs+".certs"), certs+".certs", false) // TLSCerts' one-file form
		}
	}
	slices.Sort(fileOnly)
	return vars, fileOnly
})

// notConfig reports the FLYMODEL_ variables that are no configuration and
// get no warning: those of the test suites.
func notConfig(name string) bool {
	return strings.HasPrefix(name, "FLYMODEL_TEST_") || name == "FLYMODEL_REQUIRE_SERVICES"
}

// chooseEnv returns the variable of environ that sets each key: only
// non-empty ones (empty is unset: DB_URL= must not silently mean SQLite), a
// name beating its alias whatever their order, and a key beating its own
// keys (the one-file form of server.tls.certs beats its cert_file), which is
// an error. It warns of each FLYMODEL_ variable that sets no key.
func chooseEnv(environ []string, warn func(string)) (map[string]string, []error) {
	vars, _ := envVars()
	from := map[string]string{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		v, known := vars[name]
		switch {
		case value == "":
		case !known:
			if strings.HasPrefix(name, "FLYMODEL_") && !notConfig(name) {
				warn(unknownVar(name))
			}
		case v.alias && from[v.key] != "" && !vars[from[v.key]].alias:
		default:
			from[v.key] = name
		}
	}
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(from)) {
		for parent := key; strings.Contains(parent, "."); {
			parent = parent[:strings.LastIndexByte(parent, '.')]
			if other, set := from[parent]; set {
				errs = append(errs, fmt.Errorf("config: %s: %s: conflicts with %s (%s)", from[key], key, other, parent))
				delete(from, key)
				break
			}
		}
	}
	return from, errs
}

// unknownVar is the warning for a FLYMODEL_ variable that sets no key.
func unknownVar(name string) string {
	vars, fileOnly := envVars()
	for _, key := range fileOnly {
		if prefix := envName(key); strings.HasPrefix(name, prefix+"_") {
			return fmt.Sprintf("%s is not a configuration key: %s is set whole, in a configuration file or as JSON in %s", name, key, prefix)
		}
	}
	nearest, best := "", -1
	for _, other := range slices.Sorted(maps.Keys(vars)) {
		if !strings.HasPrefix(other, "FLYMODEL_") {
			continue
		}
		if d := editDistance(strings.ToUpper(name), other); best < 0 || d < best {
			nearest, best = other, d
		}
	}
	return fmt.Sprintf("%s is not a configuration key; did you mean %s (%s)?", name, nearest, vars[nearest].key)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			diag, row[j] = row[j], min(row[j]+1, row[j-1]+1, diag+cost)
		}
	}
	return row[len(b)]
}

// loadEnv loads into k the variables that chooseEnv chose (from: key →
// variable), each value an envValue for fromEnvironment to convert.
func loadEnv(k *koanf.Koanf, environ []string, from map[string]string) error {
	vars, _ := envVars()
	return k.Load(env.Provider(".", env.Opt{
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			if v, ok := vars[name]; ok && value != "" && from[v.key] == name {
				return v.key, envValue(value)
			}
			return "", nil
		},
	}), nil)
}

// envValue is a value from the environment: text, until decoding converts it
// to its key's type.
type envValue string

// fromEnvironment is the decode hook that converts an envValue: a list or a
// table is JSON (a list of strings may also be comma-separated);
// durations and the one-file form of TLSCerts go on as strings, to the
// hooks that parse them in files too.
func fromEnvironment(_, to reflect.Type, data any) (any, error) {
	v, ok := data.(envValue)
	if !ok {
		return data, nil
	}
	s := string(v)
	if to.Kind() == reflect.Pointer {
		to = to.Elem()
	}
	switch {
	case to == durationType:
		return s, nil
	case to.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("invalid boolean %q", s)
		}
		return b, nil
	case to.Kind() == reflect.Int || to.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid integer %q", s)
		}
		return n, nil
	case isJSON(s) && (to.Kind() == reflect.Slice || to.Kind() == reflect.Map):
		var x any
		if err := json.Unmarshal([]byte(s), &x); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		return x, nil
	case to.Kind() == reflect.Map || (to.Kind() == reflect.Slice && to.Elem().Kind() != reflect.String):
		return nil, fmt.Errorf("want JSON, such as %s, got %q", jsonExample(to), s)
	case to.Kind() == reflect.Slice:
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

// isJSON reports whether an environment value is meant as a JSON list or
// table.
func isJSON(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{")
}

// jsonExample shows the shape of JSON a list or table key takes.
func jsonExample(to reflect.Type) string {
	if to.Kind() == reflect.Map {
		return `{"key": "value"}`
	}
	return `[{"key": "value"}]`
}

// envJSON is the JSON an environment value holds, for keysOnly to find
// the unknown keys in; nil if it holds none.
func envJSON(v envValue) any {
	var x any
	if !isJSON(string(v)) || json.Unmarshal([]byte(v), &x) != nil {
		return nil
	}
	return x
}
