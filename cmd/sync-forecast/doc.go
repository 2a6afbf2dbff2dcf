// Command sync-forecast drives the real sync engine against the Gainsight
// simulator for the imports and fan-outs operators plan, and prints the
// upstream calls they cost and the hour and day windows of Gainsight's
// documented rate limits they need.
package main
