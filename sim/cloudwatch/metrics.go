package cloudwatch

// Namespaces the lab publishes to.
const (
	NamespaceEC2 = "AWS/EC2"
	NamespaceALB = "AWS/ApplicationELB"
	NamespaceRDS = "AWS/RDS"
)

// Dimension names.
const (
	DimInstanceID           = "InstanceId"
	DimAutoScalingGroupName = "AutoScalingGroupName"
	DimLoadBalancer         = "LoadBalancer"
	DimTargetGroup          = "TargetGroup"
	DimAvailabilityZone     = "AvailabilityZone"
)

// AWS/EC2 metrics.
const (
	MetricCPUUtilization = "CPUUtilization"
)

// AWS/ApplicationELB metrics. The ELB reports most counters only when they
// are non-zero, so a quiet minute is a missing datapoint, not a zero.
const (
	MetricRequestCount                 = "RequestCount"
	MetricRequestCountPerTarget        = "RequestCountPerTarget"
	MetricTargetResponseTime           = "TargetResponseTime"
	MetricHTTPCodeELB5XXCount          = "HTTPCode_ELB_5XX_Count"
	MetricHTTPCodeELB502Count          = "HTTPCode_ELB_502_Count"
	MetricHTTPCodeELB503Count          = "HTTPCode_ELB_503_Count"
	MetricHTTPCodeELB504Count          = "HTTPCode_ELB_504_Count"
	MetricHTTPCodeTarget2XXCount       = "HTTPCode_Target_2XX_Count"
	MetricHTTPCodeTarget3XXCount       = "HTTPCode_Target_3XX_Count"
	MetricHTTPCodeTarget4XXCount       = "HTTPCode_Target_4XX_Count"
	MetricHTTPCodeTarget5XXCount       = "HTTPCode_Target_5XX_Count"
	MetricHealthyHostCount             = "HealthyHostCount"
	MetricUnHealthyHostCount           = "UnHealthyHostCount"
	MetricUnhealthyRoutingRequestCount = "UnhealthyRoutingRequestCount"
)
