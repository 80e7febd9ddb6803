/** setupFiles of the jest project `envtest`: the Kubernetes-facing suites run against a real kube-apiserver. */
process.env.KUBE_TARGET = 'envtest';
