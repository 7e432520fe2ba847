"""``python -m alcor.cni``, and the entry of the one-file plugin ``alcor.cni.bundle`` makes."""

from alcor.cni.main import main

main()
