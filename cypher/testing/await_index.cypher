// Test helper: block until the named index is ONLINE.
CALL db.awaitIndex($name, $timeout)
