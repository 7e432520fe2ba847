"""The resource managers: business rules over the store. They talk to the store only through
its interface (``alcor.store.interface``) and never to HTTP."""
