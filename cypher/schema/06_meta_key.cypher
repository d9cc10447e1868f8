// Small bookkeeping nodes (the feature scaler, the similarity-graph settings).
CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (m:Meta) REQUIRE m.key IS UNIQUE
