package lab

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/simplydone/lab/sim/az"
)

// The capacity scale (a scenario's capacity_scale) shrinks every instance's
// CPU share and every request's CPU cost by one factor: an instance serving
// R requests per second then uses the same fraction of its (smaller) share
// as at full size, so CPUUtilization, the alarms, the scaling decisions and
// the tier's queueing are the full-size stack's, while the host spends that
// fraction of the CPU. Nothing else changes: rates, latencies other than
// the CPU's, memory, timings.

// cpuCostEnv is SimplyDone's per-request CPU cost (todo/cli), a Go duration.
const cpuCostEnv = "SIMPLYDONE_CPU_COST"

// scaleCapacity returns spec with its CPU share and SimplyDone's
// per-request CPU cost (SIMPLYDONE_CPU_COST, and a -cpu-cost flag in the
// command, which overrides it) multiplied by f. f of 0 or 1 changes
// nothing. The spec's environment and command are copied, not changed.
func scaleCapacity(spec az.Spec, f float64) (az.Spec, error) {
	if f == 0 || f == 1 {
		return spec, nil
	}
	spec.Type.CPU *= f
	spec.Env = maps.Clone(spec.Env)
	if v, ok := spec.Env[cpuCostEnv]; ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return spec, fmt.Errorf("capacity scale: %s=%q: %w", cpuCostEnv, v, err)
		}
		spec.Env[cpuCostEnv] = scaleDur(d, f).String()
	}
	spec.Command = slices.Clone(spec.Command)
	for i, arg := range spec.Command {
		name, val, eq := strings.Cut(arg, "=")
		if name != "-cpu-cost" && name != "--cpu-cost" {
			continue
		}
		if !eq {
			if i+1 >= len(spec.Command) {
				break
			}
			val = spec.Command[i+1]
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			return spec, fmt.Errorf("capacity scale: %s %q: %w", name, val, err)
		}
		if eq {
			spec.Command[i] = name + "=" + scaleDur(d, f).String()
		} else {
			spec.Command[i+1] = scaleDur(d, f).String()
		}
	}
	return spec, nil
}

func scaleDur(d time.Duration, f float64) time.Duration {
	return time.Duration(float64(d) * f)
}

// capacityNote is what the run says at its start about its capacity scale.
func capacityNote(f float64, spec az.Spec) string {
	if f == 0 || f == 1 {
		return ""
	}
	n := fmt.Sprintf("Capacity scale %g: every instance's CPU share and every request's CPU cost are x%g (%s: %g of a core); the host spends %g of its CPU. CPU utilization and scaling are the full-size stack's only as far as the scaled cost outweighs SimplyDone's own work per request (HTTP, SQLite, about 0.35-0.8 ms of CPU), which is not scaled: at small factors or small costs utilization reads higher than at full size.",
		f, f, spec.Type.Name, spec.Type.CPU*f, f)
	if _, ok := spec.Env[cpuCostEnv]; !ok && !slices.ContainsFunc(spec.Command, func(a string) bool { return strings.Contains(a, "cpu-cost") }) {
		n += " The launch template sets no " + cpuCostEnv + ": a program's own CPU cost per request cannot be scaled, only its share."
	}
	return n
}
