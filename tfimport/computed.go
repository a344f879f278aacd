package tfimport

import (
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// regionZones are the zone letters of the regions the lab names zones in;
// a region not listed gets a, b and c (and a note).
var regionZones = map[string]string{
	"us-east-1": "abcdef", "us-east-2": "abc", "us-west-1": "ac", "us-west-2": "abcd",
	"eu-west-1": "abc", "eu-west-2": "abc", "eu-west-3": "abc", "eu-central-1": "abc", "eu-north-1": "abc",
	"ap-southeast-1": "abc", "ap-southeast-2": "abc", "ap-northeast-1": "acd", "ap-south-1": "abc",
	"ca-central-1": "abd", "sa-east-1": "abc",
}

// zoneNames are the region's zone names as data "aws_availability_zones"
// gives them.
func (e *evaluator) zoneNames() []string {
	letters, ok := regionZones[e.region]
	if !ok {
		letters = "abc"
	}
	out := make([]string, len(letters))
	for i, l := range letters {
		out[i] = e.region + string(l)
	}
	return out
}

// PlaceholderAMI is the image id taken for an AMI looked up at apply time.
const PlaceholderAMI = "ami-00000000000000000"

// computed is the instance's value for references: its arguments and
// blocks, plus the attributes AWS computes that a configuration commonly
// reads (ids, ARNs, names), made up from the address so that references
// between resources can be followed back. Data sources are answered
// offline where the lab knows the answer (zones, region) and noted where
// it does not.
func (e *evaluator) computed(i *Instance) cty.Value {
	obj := i.Body.object()
	set := func(k string, v cty.Value) {
		if _, ok := obj[k]; !ok {
			obj[k] = v
		}
	}
	str := cty.StringVal
	if i.Mode == "data" {
		switch i.Type {
		case "aws_availability_zones":
			names := e.zoneNames()
			if ex := i.Body.attr("exclude_names"); ex != nil && ex.V.IsWhollyKnown() && ex.V.CanIterateElements() {
				drop := map[string]bool{}
				for it := ex.V.ElementIterator(); it.Next(); {
					if _, v := it.Element(); isStr(v) {
						drop[v.AsString()] = true
					}
				}
				var kept []string
				for _, n := range names {
					if !drop[n] {
						kept = append(kept, n)
					}
				}
				names = kept
			}
			var nv, ids []cty.Value
			for n, z := range names {
				nv = append(nv, str(z))
				ids = append(ids, str(fmt.Sprintf("%s-az%d", strings.ReplaceAll(e.region, "-", ""), n+1)))
			}
			list := func(vs []cty.Value) cty.Value {
				if len(vs) == 0 {
					return cty.ListValEmpty(cty.String)
				}
				return cty.ListVal(vs)
			}
			obj["names"], obj["zone_ids"] = list(nv), list(ids)
			obj["id"] = str(e.region)
			if _, known := regionZones[e.region]; !known {
				e.note(i.Decl, Offline, i.Addr, "zones of %s are not known to the lab; %s taken", e.region, strings.Join(names, ", "))
			} else if !e.regionSet {
				e.note(i.Decl, Offline, i.Addr, "the aws provider names no region; %s taken, zones %s", e.region, strings.Join(names, ", "))
			}
		case "aws_region":
			obj["name"], obj["id"], obj["region"] = str(e.region), str(e.region), str(e.region)
			obj["description"] = str(e.region)
		case "aws_caller_identity":
			obj["account_id"], obj["id"] = str("000000000000"), str("000000000000")
			obj["arn"], obj["user_id"] = str("arn:aws:iam::000000000000:root"), str("lab")
		case "aws_partition":
			obj["partition"], obj["id"], obj["dns_suffix"] = str("aws"), str("aws"), str("amazonaws.com")
		case "aws_ami":
			e.note(i.Decl, Offline, i.Addr, "an AMI lookup needs AWS; %s taken (the lab runs the launch template's container or its own SimplyDone, not an AMI)", PlaceholderAMI)
			set("id", str(PlaceholderAMI))
			set("image_id", str(PlaceholderAMI))
			set("arn", str("arn:aws:ec2:"+e.region+"::image/"+PlaceholderAMI))
		case "aws_ssm_parameter":
			e.note(i.Decl, Offline, i.Addr, "a parameter's value needs AWS; %s taken (an AMI id is what such a parameter usually holds)", PlaceholderAMI)
			set("value", str(PlaceholderAMI))
			set("insecure_value", str(PlaceholderAMI))
			set("id", str(PlaceholderAMI))
		case "terraform_remote_state":
			e.note(i.Decl, Offline, i.Addr, "remote state cannot be read offline: its outputs are unknown, so what depends on them takes a stated default")
			return cty.DynamicVal
		default:
			e.note(i.Decl, Offline, i.Addr, "data source %s is not read offline: its attributes are unknown, so what depends on them takes a stated default", i.Type)
			return cty.DynamicVal
		}
		return cty.ObjectVal(obj)
	}
	set("id", str(i.Addr))
	set("arn", str("arn:lab:"+i.Addr))
	set("arn_suffix", str("lab/"+i.Addr))
	if np, ok := obj["name_prefix"]; ok && isStr(np) {
		set("name", str(np.AsString()+i.Addr))
	}
	set("name", str(i.Addr))
	switch i.Type {
	case "aws_launch_template":
		set("latest_version", cty.NumberIntVal(1))
		set("default_version", cty.NumberIntVal(1))
	case "aws_lb", "aws_alb":
		set("dns_name", str(i.Addr+".elb.lab"))
		set("zone_id", str("LAB"))
	case "aws_lb_target_group", "aws_alb_target_group":
		set("arn_suffix", str("targetgroup/"+i.Addr))
	case "aws_eip":
		set("allocation_id", str(i.Addr))
		set("public_ip", cty.UnknownVal(cty.String))
	case "aws_db_instance":
		set("identifier", str(i.Name))
		set("address", str(i.Name+".rds.lab"))
		set("endpoint", str(i.Name+".rds.lab:5432"))
	case "aws_rds_cluster":
		set("cluster_identifier", str(i.Name))
		set("endpoint", str(i.Name+".cluster.rds.lab"))
		set("reader_endpoint", str(i.Name+".cluster-ro.rds.lab"))
	case "aws_security_group":
		set("owner_id", str("000000000000"))
	case "aws_vpc":
		set("default_security_group_id", str(i.Addr+".default"))
		set("main_route_table_id", str(i.Addr+".main"))
	}
	return cty.ObjectVal(obj)
}
