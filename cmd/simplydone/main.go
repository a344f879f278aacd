// Command simplydone runs one SimplyDone instance, the lab's demo workload,
// on its own; `lab simplydone` is the same server inside the lab's binary.
//
// Configuration comes from the environment, and flags override it:
//
//	LAB_ADDR               -addr        listen host (default 127.0.0.1)
//	LAB_PORT               -port        listen port (default 8080)
//	LAB_INSTANCE_ID        -instance-id instance id (default simplydone-<pid>)
//	LAB_ZONE               -zone        availability zone name
//	LAB_DATA_DIR           -data-dir    shared data directory (default ./data)
//	SIMPLYDONE_CPU_COST    -cpu-cost    CPU burned per API request (Go duration, default 0)
//	SIMPLYDONE_BOOT_DELAY  -boot-delay  simulated boot time (Go duration, default 0)
//	SIMPLYDONE_RESTART_DELAY -restart-delay simulated boot time of an instance that has booted before
//	                                    (its first-boot mark in the data directory); set, it also leaves the mark
//	SIMPLYDONE_DB_QUERY_COST -db-query-cost CPU time the database spends on a costlier query before each statement
//	SIMPLYDONE_MAX_INFLIGHT -max-inflight API requests worked on at once (default 4; 0: no bound)
//	SIMPLYDONE_VERSION     -version     the release, in X-SimplyDone-Version and /health (default v1)
//	SIMPLYDONE_BROKEN      -broken      a deliberately broken build: "health" makes /health answer 500
//
// SIGTERM or SIGINT starts a graceful shutdown. `simplydone hog` burns every
// CPU it may use until signalled (chaos's cpu-hog in a container).
package main

import (
	"os"

	"github.com/simplydone/lab/todo/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
