package export

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/simplydone/lab/rundir"
	"github.com/simplydone/lab/stack"
)

// Options are the export's own choices: what the stack model has no field for.
type Options struct {
	// SingleNAT puts one NAT gateway in the first zone for every private
	// subnet (cheaper, but that zone's outage cuts the others' egress),
	// instead of one per zone as a multi-AZ tier should have.
	SingleNAT bool
	// Run, when set, is the rehearsal the export comes from; its id,
	// scenario and verdict are stamped in the header.
	Run *Run
}

// Run is what a run directory's summary.json says about the rehearsal.
type Run struct {
	ID       string `json:"run_id"`
	Scenario string `json:"scenario"`
	Stack    string `json:"stack"`
	Verdict  string `json:"verdict"`
}

// LoadRun reads a run directory: the stack exactly as rehearsed
// (RUN_DIR/stack.yaml) and the run's summary.json.
func LoadRun(dir string) (*stack.Stack, *Run, error) {
	data, err := os.ReadFile(filepath.Join(dir, rundir.SummaryFile))
	if err != nil {
		return nil, nil, fmt.Errorf("read run: %w", err)
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, fmt.Errorf("read run: %s: %w", filepath.Join(dir, rundir.SummaryFile), err)
	}
	if r.ID == "" || r.Verdict == "" {
		return nil, nil, fmt.Errorf("read run: %s: run_id or verdict missing", filepath.Join(dir, rundir.SummaryFile))
	}
	s, err := stack.Load(filepath.Join(dir, rundir.StackFile))
	if err != nil {
		return nil, nil, err
	}
	return s, &r, nil
}

// Format is a target of the export.
type Format string

// The formats the package writes.
const (
	FormatTerraform      Format = "terraform"
	FormatCloudFormation Format = "cloudformation"
)

// AMIParameter is the public SSM parameter that names the latest Amazon
// Linux 2023 AMI; every instance type the lab knows is x86_64.
const AMIParameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

// VPCCIDR is the default VPC block; zone N gets public 10.0.N.0/24 and
// private 10.0.(100+N).0/24, as zone N owns 127.0.N.0/24 in the lab.
const VPCCIDR = "10.0.0.0/16"

// maxUserData is EC2's limit on user data before base64 encoding.
const maxUserData = 16 << 10

var azName = regexp.MustCompile(`^([a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+)([a-z])$`)

// Region is the AWS region of the stack's zones ("us-east-1" for
// us-east-1a); Check makes sure there is exactly one.
func Region(s *stack.Stack) string {
	if m := azName.FindStringSubmatch(s.Zones[0]); m != nil {
		return m[1]
	}
	return ""
}

// Check reports, by stack field, every setting AWS (or the format's
// resource schema) would refuse that the stack model itself allows.
func Check(s *stack.Stack, f Format) error {
	var list []stack.Error
	errf := func(field, format string, args ...any) {
		list = append(list, stack.Error{File: s.File, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	// name becomes the ALB's name; AWS reserves the internal- prefix.
	if strings.HasPrefix(strings.ToLower(s.Name), "internal-") {
		errf("name", "%q starts with internal-, which AWS refuses in a load balancer name; rename the stack", s.Name)
	}
	// availability_zones: real zone names, all in one region (a VPC is regional).
	region := Region(s)
	for i, z := range s.Zones {
		m := azName.FindStringSubmatch(z)
		switch {
		case m == nil:
			errf(fmt.Sprintf("availability_zones[%d]", i), "%q is not an AWS zone name; use names such as us-east-1a", z)
		case region != "" && m[1] != region:
			errf(fmt.Sprintf("availability_zones[%d]", i), "%s is in %s, not %s; a VPC's subnets are all in one region", z, m[1], region)
		}
	}
	if len(s.Zones) > 26 {
		errf("availability_zones", "%d zones; no AWS region has more than 26", len(s.Zones))
	}
	// The user data carries launch_template.environment; EC2 takes 16 KB.
	if n := len(UserData(s, "IMAGE")); n > maxUserData {
		errf("launch_template.environment", "makes the user data %d bytes; EC2 takes at most %d", n, maxUserData)
	}
	// auto_scaling_group.capacity_distribution_strategy: the CloudFormation
	// resource spec this exporter validates against has no such property,
	// so only AWS's default (balanced-best-effort) exports there.
	if f == FormatCloudFormation && s.AutoScalingGroup.CapacityDistributionStrategy != "balanced-best-effort" {
		errf("auto_scaling_group.capacity_distribution_strategy", "%s cannot be written to CloudFormation (the resource spec has no AvailabilityZoneDistribution); use balanced-best-effort or export terraform",
			s.AutoScalingGroup.CapacityDistributionStrategy)
	}
	if s.MultiService() {
		checkDatabase(s, errf)
		list = append(list, checkServices(s, f)...)
		if len(list) == 0 {
			return nil
		}
		return &stack.Errors{List: list}
	}
	checkGroupExtras(s, f, errf)
	checkDatabase(s, errf)
	for i, p := range s.ScalingPolicies {
		a := p.Alarm
		if a == nil {
			continue
		}
		field := fmt.Sprintf("scaling_policies[%d].alarm", i)
		secs := int(a.Period.Seconds())
		if secs*a.EvaluationPeriods > 86400 {
			errf(field+".evaluation_periods", "%d periods of %ds span more than a day; CloudWatch allows period x evaluation_periods <= 86400s", a.EvaluationPeriods, secs)
		}
		switch a.Namespace {
		case "AWS/EC2":
			// EC2 publishes at best every minute (detailed monitoring).
			if secs < 60 {
				errf(field+".period", "%ds: AWS/EC2 metrics come at most once a minute, so the alarm would never have data; use 60s or more", secs)
			}
		case "AWS/ApplicationELB":
		case stack.NamespaceRDS:
			checkRDSAlarm(s, a, field, errf)
		default:
			errf(field+".namespace", "%q: the exporter knows the dimensions of AWS/EC2 (AutoScalingGroupName), AWS/ApplicationELB (LoadBalancer, TargetGroup) and AWS/RDS (DBInstanceIdentifier) only", a.Namespace)
		}
	}
	if len(list) == 0 {
		return nil
	}
	return &stack.Errors{List: list}
}

// dimension is one CloudWatch alarm dimension: the value is a reference
// the writer renders in its own syntax.
type dimension struct {
	Name string
	Ref  string // "asg", "lb", "tg"; for AWS/RDS "db" or "replica_N" (database.read_replicas[N-1])
}

// perTarget lists the AWS/ApplicationELB metrics published per target group.
var perTarget = map[string]bool{
	"RequestCountPerTarget": true, "HealthyHostCount": true, "UnHealthyHostCount": true,
	"TargetResponseTime": true, "HTTPCode_Target_2XX_Count": true, "HTTPCode_Target_5XX_Count": true,
}

// alarmDimensions says what an alarm's metric is measured over: the group
// for AWS/EC2, the load balancer (and target group) for AWS/ApplicationELB.
func alarmDimensions(s *stack.Stack, a *stack.Alarm) []dimension {
	if a.Namespace == stack.NamespaceRDS {
		if d, ok := rdsDimension(s, a); ok {
			return []dimension{d}
		}
		return nil // Check refuses it
	}
	if a.Namespace == "AWS/ApplicationELB" {
		d := []dimension{{"LoadBalancer", "lb"}}
		if perTarget[a.MetricName] {
			d = append(d, dimension{"TargetGroup", "tg"})
		}
		return d
	}
	return []dimension{{"AutoScalingGroupName", "asg"}}
}

// UserData is the instance's boot script: it installs Docker on Amazon
// Linux 2023 and runs the stack's image (image is the reference, or a
// template placeholder) with launch_template.port published on the target
// group's port and launch_template.environment, sorted by name.
func UserData(s *stack.Stack, image string) string {
	lt := s.LaunchTemplate
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "# Written by lab export for stack %s: run the workload as a container.\n", s.Name)
	b.WriteString("set -euo pipefail\n")
	b.WriteString("dnf install -y docker\n")
	b.WriteString("systemctl enable --now docker\n")
	fmt.Fprintf(&b, "docker run --detach --name %s --restart always \\\n", shellQuote(s.Name))
	// target_group.port is where the ALB sends; launch_template.port is where the workload listens.
	fmt.Fprintf(&b, "  --publish %d:%d \\\n", s.TargetGroup.Port, lt.Port)
	names := make([]string, 0, len(lt.Environment))
	for k := range lt.Environment {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "  --env %s \\\n", shellQuote(k+"="+lt.Environment[k]))
	}
	fmt.Fprintf(&b, "  %s\n", image)
	return b.String()
}

// shellQuote quotes s for bash as one word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// header is the provenance every output starts with, one line per entry.
func header(s *stack.Stack, o Options, command string) []string {
	lines := []string{
		fmt.Sprintf("Generated by `lab export %s` from stack %s (%s). Regenerate rather than edit.", command, s.Name, s.File),
	}
	if r := o.Run; r != nil {
		lines = append(lines, fmt.Sprintf("Rehearsed in run %s, scenario %s: verdict %s.", r.ID, r.Scenario, r.Verdict))
	}
	nat := "one NAT gateway per zone"
	if o.SingleNAT {
		nat = "one NAT gateway for all zones (--single-nat)"
	}
	lines = append(lines, "Export options: "+nat+".")
	return lines
}

// zoneNums numbers the zones from 1 in stack order, as the lab does.
func zoneNums(s *stack.Stack) []int {
	n := make([]int, len(s.Zones))
	for i := range n {
		n[i] = i + 1
	}
	return n
}

// natZones are the zones that get a NAT gateway.
func natZones(s *stack.Stack, o Options) []string {
	if o.SingleNAT {
		return s.Zones[:1]
	}
	return s.Zones
}

// ident turns a policy name into a unique identifier: Terraform style
// ("cpu_high") when upper is false, CloudFormation style ("CpuHigh") when true.
func idents(names []string, upper bool) []string {
	out := make([]string, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		var b strings.Builder
		capNext := true
		for _, r := range n {
			isAlnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
			switch {
			case !isAlnum && upper:
				capNext = true
			case !isAlnum:
				b.WriteByte('_')
			case upper && capNext:
				b.WriteString(strings.ToUpper(string(r)))
				capNext = false
			case upper:
				b.WriteRune(r)
			default:
				b.WriteString(strings.ToLower(string(r)))
			}
		}
		id := b.String()
		if id == "" || id[0] >= '0' && id[0] <= '9' || (!upper && id[0] == '_') {
			id = map[bool]string{false: "p_", true: "P"}[upper] + id
		}
		base := id
		for k := 2; seen[id]; k++ {
			id = fmt.Sprintf("%s%s%d", base, map[bool]string{false: "_", true: ""}[upper], k)
		}
		seen[id] = true
		out[i] = id
	}
	return out
}

func policyNames(s *stack.Stack) []string {
	names := make([]string, len(s.ScalingPolicies))
	for i, p := range s.ScalingPolicies {
		names[i] = p.Name
	}
	return names
}

// monitoringComment says what the launch template's monitoring gives.
func monitoringComment(m string) string {
	if m == stack.MonitoringDetailed {
		return "Detailed monitoring (launch_template.monitoring): CPUUtilization every minute."
	}
	return "Basic monitoring (launch_template.monitoring, AWS's default): CPUUtilization every 5 minutes; alarms on it see a datapoint every 5 minutes."
}
