//go:build !race

package main

// raceDetector reports whether the tests run under the race detector,
// which multiplies a process's memory: TestAttacks's memory bound holds
// only without it.
const raceDetector = false
