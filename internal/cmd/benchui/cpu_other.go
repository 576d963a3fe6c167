//go:build !unix

package main

import "time"

// processCPU is unknown here: the CPU column shows a dash.
func processCPU() time.Duration { return 0 }
