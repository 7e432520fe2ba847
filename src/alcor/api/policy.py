"""Neutron's default policy on reading attributes: which ones only admins see.

Neutron shows ``provider:network_type``, ``provider:physical_network`` and
``provider:segmentation_id`` (networks), ``binding:host_id``, ``binding:profile``,
``binding:vif_type``, ``binding:vif_details`` and ``resource_request`` (ports), ``segment_id``
(subnets), ``distributed`` and ``ha`` (routers) to admins only. Anyone else finds them left out
of every body (show, list, create, bulk create, update), and ``fields=`` naming one picks
nothing. Each collection lists its own (``Collection.admin_only_attributes``); this module
applies that list to views and to the attributes a list may filter and sort on, so no handler
checks an attribute by itself.

Filtering is where this differs from the reference Neutron on purpose: Neutron applies a
member's ``binding:host_id=H`` or ``provider:segmentation_id=N`` filter, so which of its own
ports come back tells it where they run (host ids are what an attacker of the southbound needs).
Here a member's filter or sort key on an attribute it cannot see is a 400, as one on any
attribute that cannot be filtered on; Neutron sorts by none of these, for anyone.

Who may *set* these attributes is a rule of the services (``Caller.require_admin``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import msgspec

from alcor.api.collections import Collection
from alcor.api.listing import Attribute
from alcor.api.views import View
from alcor.services.callers import Caller

V = TypeVar("V", bound=View)


class ReadPolicy:
    """What of one collection a caller sees and may filter, sort and pick by."""

    def __init__(self, collection: Collection) -> None:
        hidden = collection.admin_only_attributes
        fields = {
            field.encode_name: field.name for field in msgspec.structs.fields(collection.view)
        }
        unknown = hidden - fields.keys()
        if unknown:
            raise ValueError(f"{collection.plural}: no such attributes to hide: {sorted(unknown)}")
        self._unset = {fields[name]: msgspec.UNSET for name in sorted(hidden)}
        self._every = collection.attributes
        self._members = {
            name: attribute
            for name, attribute in collection.attributes.items()
            if name not in hidden
        }

    def attributes(self, caller: Caller) -> Mapping[str, Attribute]:
        """The attributes the caller may filter and sort on."""
        return self._every if caller.is_admin else self._members

    def shown(self, caller: Caller, view: V) -> V:
        """The view as the caller may see it: admin-only attributes unset (left out) for
        anyone but an admin."""
        if caller.is_admin or not self._unset:
            return view
        return msgspec.structs.replace(view, **self._unset)
