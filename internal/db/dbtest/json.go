package dbtest

import (
	"encoding/json"
	"reflect"
)

// jsonEqual compares two JSON documents by value: PostgreSQL's jsonb
// normalises whitespace and key order, SQLite keeps the text.
func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
