"""``python -m alcor.cni``, as the one-file plugin ``alcor.cni.bundle`` makes runs it."""

from alcor.cni.handoff import main

main()
