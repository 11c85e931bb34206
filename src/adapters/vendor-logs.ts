// Only what the failure report uses from CloudWatch Logs: the bundle leaves the client's other ~100 commands out.
export { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
