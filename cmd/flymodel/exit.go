package main

import "github.com/flymodel/flymodel/api"

// classExitCode is the exit code of a command that failed with an error
// of class class (api.ClassOf; nil for an error of no class), other than
// a usage error.
func classExitCode(class error) int {
	switch class {
	case api.ErrConflict:
		return exitConflict
	}
	return exitError
}
