"""Simulated hosts on one machine: network namespaces on an underlay bridge, each running
``alcor agent --driver linux`` against a real ``alcor server``, driven through its REST API and
checked with real packets. The system tests (``tests/system``) and ``alcor demo`` are built on it.

It drives the system from outside, as an operator would: processes, ``ip``/``nsenter`` and HTTP;
it imports nothing else of ``alcor`` (import-linter checks it).

    errors       what goes wrong: the tree
    commands     running ``ip`` and friends; whether this machine can run a lab at all
    waiting      eventually(): poll until something is true
    processes    starting and stopping the controller and agents, attached or detached
    certificates the southbound's CA and certificates, made with ``alcor certs``: mutual TLS
    controllers  ``alcor server`` as a child process, on loopback, southbound on ``unix:PATH``
    namespaces   the underlay, hosts plugged into it, listing and removing namespaces by prefix
    hosts        a simulated host: its namespace, its agent, its status file
    neutron      a small client of the REST API that waits until hosts acknowledged each change
    traffic      ping, many pings at once, a TCP server and client in a namespace
    reference    the reference topology: one VPC, two subnets, four endpoints on two hosts
    ping_matrix  the all-pairs ping results as a table
    containers   podman as root on CNI networks: containers of a busybox image on a host
"""
