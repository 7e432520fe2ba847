#!/bin/sh
# The agent DaemonSet's init container: puts alcor-cni (the compiled handoff to the node's CNI
# daemon, and alcor-cni.pyz beside it, the Python plugin it runs when no daemon answers) and its
# conflist on the node, each replaced at once (a runtime never runs half a plugin nor reads half
# a configuration; the temporary names have extensions runtimes do not read). The conflist's "api" is the alcor-api
# Service's cluster IP (the plugin runs in the node's network namespace, where cluster DNS names
# do not resolve), unless ALCOR_API_URL gives one; "host_id" is the node's name, the agent's
# --host-id.
set -eu
: "${NODE_NAME:?NODE_NAME is not set}"
if [ -z "${ALCOR_API_URL:-}" ]; then
    : "${ALCOR_API_SERVICE_HOST:?the alcor-api Service must exist before the agents start}"
    ALCOR_API_URL="http://${ALCOR_API_SERVICE_HOST}:${ALCOR_API_SERVICE_PORT:-9696}"
fi
for file in alcor-cni.pyz alcor-cni; do  # the one the other runs first
    install -m 0755 "/opt/alcor/cni/$file" "/host/opt/cni/bin/.$file.new"
    mv -f "/host/opt/cni/bin/.$file.new" "/host/opt/cni/bin/$file"
done
sed -e "s|@API@|${ALCOR_API_URL}|g" -e "s|@NODE_NAME@|${NODE_NAME}|g" \
    /etc/alcor/cni/10-alcor.conflist > /host/etc/cni/net.d/.10-alcor.conflist.new
mv -f /host/etc/cni/net.d/.10-alcor.conflist.new /host/etc/cni/net.d/10-alcor.conflist
echo "alcor-cni installed; /etc/cni/net.d/10-alcor.conflist names ${ALCOR_API_URL} and host ${NODE_NAME}"
