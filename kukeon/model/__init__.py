"""The resource model: typed resources, identity, host naming and spec hashing."""
