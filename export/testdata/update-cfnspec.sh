#!/bin/sh
# Regenerates cfnspec-subset.json: the CloudFormation resource specification,
# as the npm package @aws-cdk/cfnspec ships it, cut down to the resource
# types `lab export cloudformation` writes and the property types they use.
# export's tests check every template against it. Needs npm and go.
#
#   export/testdata/update-cfnspec.sh              # version 2.72.1
#   CFNSPEC_VERSION=2.72.1 export/testdata/update-cfnspec.sh
set -eu
version=${CFNSPEC_VERSION:-2.72.1}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Every resource type the exporter emits; a test fails if one is missing.
types="
AWS::AutoScaling::AutoScalingGroup
AWS::AutoScaling::ScalingPolicy
AWS::AutoScaling::WarmPool
AWS::CloudWatch::Alarm
AWS::EC2::EIP
AWS::EC2::InternetGateway
AWS::EC2::LaunchTemplate
AWS::EC2::NatGateway
AWS::EC2::Route
AWS::EC2::RouteTable
AWS::EC2::SecurityGroup
AWS::EC2::Subnet
AWS::EC2::SubnetRouteTableAssociation
AWS::EC2::VPC
AWS::EC2::VPCGatewayAttachment
AWS::ElasticLoadBalancingV2::Listener
AWS::ElasticLoadBalancingV2::ListenerRule
AWS::ElasticLoadBalancingV2::LoadBalancer
AWS::ElasticLoadBalancingV2::TargetGroup
AWS::RDS::DBCluster
AWS::RDS::DBInstance
AWS::RDS::DBSubnetGroup
"

(cd "$tmp" && npm pack --silent "@aws-cdk/cfnspec@$version" >/dev/null && tar xzf aws-cdk-cfnspec-"$version".tgz)
# shellcheck disable=SC2086 # one argument per type
go run "$here/cfnspec-subset.go" "$tmp/package/spec/specification.json" $types >"$here/cfnspec-subset.json.new"
mv "$here/cfnspec-subset.json.new" "$here/cfnspec-subset.json"
echo "wrote $here/cfnspec-subset.json from @aws-cdk/cfnspec@$version"
