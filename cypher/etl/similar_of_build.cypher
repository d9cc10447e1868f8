// How many SIMILAR edges carry build $build (a scan: run only when the count store says
// the stored build may be complete).
MATCH ()-[r:SIMILAR]->()
WHERE r.build = $build
RETURN count(r) AS edges
