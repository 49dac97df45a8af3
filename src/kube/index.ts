/**
 * The Kubernetes API that Berth's EKS clusters serve to kubectl: its HTTPS listener, token
 * authentication, discovery, the served resources and their controllers. Pods run as ECS tasks
 * through the task path the composition root hands in.
 */
export { Kubernetes } from "./kubernetes.js";
