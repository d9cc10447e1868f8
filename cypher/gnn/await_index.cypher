// Block until the index is ONLINE (fails after $timeout seconds).
CALL db.awaitIndex($name, $timeout)
