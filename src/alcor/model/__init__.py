"""The pure domain: records, validation, address and identifier allocation, errors. No I/O."""
