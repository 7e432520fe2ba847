"""``alcor-cni``: the CNI plugin that gives a pod a port of an Alcor network.

A container runtime runs it once per pod and command (CNI spec 1.1.0: ADD, DEL, CHECK, STATUS,
VERSION, GC; 0.4.0 and 1.0.0 configurations too), with ``CNI_*`` in the environment, the
network configuration on stdin, and the result or the spec's error on stdout. It makes the
pod's interface itself, as Nova makes a VM's tap: a veth whose host end is the port's
``tap<port:11>`` (aliased ``alcor-cni:...``, so the node's agent attaches it and never deletes
it) and whose other end is the pod's interface, with the port's MAC, addresses, routes and MTU.
The port is bound to the node only once that device exists, so the agent programs it at the
first goal state and the port is ACTIVE at once (docs/kubernetes.md).

It runs once per pod, so it starts fast: the standard library only (``http.client``, ``json``,
``subprocess`` for iproute2), nothing else of ``alcor`` (import-linter checks it), so
``python -m alcor.cni.bundle`` can make it one file a node runs with its own python3.

``invocation``  the command, its environment and configuration, validated
``controller``  the REST API (Neutron's), with a Keystone token when credentials are given
``addressing``  what the pod's interface holds, from its port (pure)
``links``       the pod's interface, with iproute2
``results``     the spec's result for each version
``commands``    ADD, DEL, CHECK, STATUS, VERSION, GC
``handoff``     the entry point: the invocation to the node's CNI daemon, if one listens
``main``        ... else here: environment and stdin in, JSON and exit status out
``daemon``      ``alcor cni-daemon``: the plugin's work in one long-lived process
"""
