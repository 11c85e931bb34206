/**
 * The emulated CloudWatch Logs of one account and region: log groups, streams and events. Containers with the awslogs
 * driver write to the stream `<awslogs-stream-prefix>/<container name>/<task id>` of their `awslogs-group`
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html).
 */
export interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface LogStream {
  name: string;
  createdAt: number;
  events: LogEvent[];
}

export interface LogGroup {
  name: string;
  createdAt: number;
  streams: Map<string, LogStream>;
}

export class LogsState {
  readonly groups = new Map<string, LogGroup>();

  constructor(
    readonly account: string,
    readonly region: string,
  ) {}

  groupArn(g: LogGroup): string {
    return `arn:aws:logs:${this.region}:${this.account}:log-group:${g.name}`;
  }

  createGroup(name: string, now: number): LogGroup {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, createdAt: now, streams: new Map() };
      this.groups.set(name, g);
    }
    return g;
  }

  /** The stream, created on first use (the awslogs driver creates it when the container starts). */
  openStream(group: LogGroup, streamName: string, at: number): LogStream {
    let s = group.streams.get(streamName);
    if (!s) {
      s = { name: streamName, createdAt: at, events: [] };
      group.streams.set(streamName, s);
    }
    return s;
  }

  snapshot(): unknown[] {
    return [...this.groups.values()].map((g) => ({
      logGroupName: g.name,
      streams: [...g.streams.values()].map((s) => ({ logStreamName: s.name, events: s.events.length })),
    }));
  }
}
