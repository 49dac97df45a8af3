// ALBRequestCountPerTarget on real traffic: a service of busybox httpd tasks behind a Berth
// load balancer scales out while requests per task per period exceed the target, and back in
// once they stop. The request counts are the load balancer's own (its RequestCountSource),
// divided by the target group's registered targets, which the service keeps.
import assert from "node:assert/strict";
import { request, type Agent } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  ApplicationAutoScalingClient,
  DescribeScalingActivitiesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type Service,
} from "@aws-sdk/client-ecs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  freePort,
  pushBusyboxImage,
  startBerthProcess,
  type BerthProcess,
  until,
} from "../../src/testing/index.js";

let berth: BerthProcess;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;
let scaling: ApplicationAutoScalingClient;

before(async () => {
  berth = await startBerthProcess({ args: ["--metric-period-seconds", "1"] });
  ecs = new ECSClient(berth.clientConfig);
  elb = new ElasticLoadBalancingV2Client(berth.clientConfig);
  scaling = new ApplicationAutoScalingClient(berth.clientConfig);
});
after(async () => {
  ecs.destroy();
  elb.destroy();
  scaling.destroy();
  await berth.stop();
});

function get(port: number, host: string, agent: Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", headers: { host }, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

async function describeService(name: string): Promise<Service> {
  const { services = [] } = await ecs.send(new DescribeServicesCommand({ services: [name] }));
  assert.ok(services[0] !== undefined);
  return services[0];
}

describe("target tracking on ALBRequestCountPerTarget", () => {
  it("scales out under request load through the listener, and back in when it stops", async () => {
    const image = (await pushBusyboxImage(berth, "busybox")).uri;
    const { LoadBalancers = [] } = await elb.send(new CreateLoadBalancerCommand({ Name: "front" }));
    const lb = LoadBalancers[0];
    const { TargetGroups = [] } = await elb.send(
      new CreateTargetGroupCommand({
        Name: "web",
        Protocol: "HTTP",
        Port: 8080,
        TargetType: "ip",
        HealthCheckPath: "/",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
      }),
    );
    const groupArn = TargetGroups[0]?.TargetGroupArn ?? "";
    const listenerPort = await freePort();
    await elb.send(
      new CreateListenerCommand({
        Protocol: "HTTP",
        LoadBalancerArn: lb?.LoadBalancerArn,
        Port: listenerPort,
        DefaultActions: [{ Type: "forward", TargetGroupArn: groupArn }],
      }),
    );

    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "web",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          {
            name: "app",
            image,
            essential: true,
            stopTimeout: 2,
            portMappings: [{ containerPort: 8080 }],
            command: [
              "sh",
              "-c",
              "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www",
            ],
          },
        ],
      }),
    );
    await ecs.send(
      new CreateServiceCommand({
        serviceName: "web",
        taskDefinition: taskDefinition?.taskDefinitionArn,
        desiredCount: 1,
        loadBalancers: [{ targetGroupArn: groupArn, containerName: "app", containerPort: 8080 }],
      }),
    );
    // The service registers its task in the target group (containerName/containerPort).
    await until(
      "a healthy target",
      async () =>
        (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: groupArn })))
          .TargetHealthDescriptions ?? [],
      (targets) => targets.length === 1 && targets[0]?.TargetHealth?.State === "healthy",
    );

    // ResourceLabel: app/<lb name>/<lb id>/targetgroup/<tg name>/<tg id>, from the two ARNs.
    const label = `${(lb?.LoadBalancerArn ?? "").split(":loadbalancer/")[1] ?? ""}/${groupArn.split(":").pop() ?? ""}`;
    assert.match(label, /^app\/front\/[^/]+\/targetgroup\/web\/[^/]+$/);
    const resource = {
      ServiceNamespace: "ecs" as const,
      ResourceId: "service/default/web",
      ScalableDimension: "ecs:service:DesiredCount" as const,
    };
    await scaling.send(
      new RegisterScalableTargetCommand({ ...resource, MinCapacity: 1, MaxCapacity: 3 }),
    );
    await scaling.send(
      new PutScalingPolicyCommand({
        ...resource,
        PolicyName: "requests",
        PolicyType: "TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration: {
          // Requests per task per (one-second) period.
          TargetValue: 5,
          PredefinedMetricSpecification: {
            PredefinedMetricType: "ALBRequestCountPerTarget",
            ResourceLabel: label,
          },
          ScaleOutCooldown: 5,
          ScaleInCooldown: 5,
        },
      }),
    );

    // About 40 requests a second through the listener until the service has scaled out.
    let load = true;
    let served = 0;
    const traffic = (async () => {
      while (load) {
        const statuses = await Promise.all(
          Array.from({ length: 4 }, () => get(listenerPort, lb?.DNSName ?? "", false)),
        );
        served += statuses.filter((s) => s === 200).length;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await until(
        "a scale-out",
        () => describeService("web"),
        (s) => (s.desiredCount ?? 0) > 1,
      );
    } finally {
      load = false;
      await traffic;
    }
    assert.ok(served > 0, "the listener served the tasks' responses");
    const { ScalingActivities = [] } = await scaling.send(
      new DescribeScalingActivitiesCommand({
        ServiceNamespace: "ecs",
        ResourceId: resource.ResourceId,
      }),
    );
    assert.match(
      ScalingActivities[0]?.Cause ?? "",
      /^monitor alarm TargetTracking-service\/default\/web-AlarmHigh-\S+ in state ALARM triggered policy requests$/,
    );
    const metrics = await (await fetch(`${berth.endpoint}/metrics`)).text();
    assert.match(
      metrics,
      /^berth_target_group_requests_total\{target_group="[^"]+:targetgroup\/web\/[^"]+"\} [1-9]\d*$/m,
    );

    // No requests: 15 datapoints at 0 per target, and the service is back at its minimum.
    await until(
      "the scale-in",
      () => describeService("web"),
      (s) => s.desiredCount === 1,
      { timeoutMs: 120_000 },
    );
    await ecs.send(new DeleteServiceCommand({ service: "web", force: true }));
    await until(
      "web drained",
      () => describeService("web"),
      (s) => (s.runningCount ?? 0) + (s.pendingCount ?? 0) === 0,
    );
  });
});
