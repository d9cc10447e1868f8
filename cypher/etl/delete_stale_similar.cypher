// Remove SIMILAR edges that an earlier build wrote and the current one did not.
MATCH ()-[r:SIMILAR]->()
WHERE r.build IS NULL OR r.build <> $build
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
