-- Efficiency routes (SQLite schema version 11): the route a call was made to (NULL for a call to a model) and why the
-- route chose the model that answered (exploit or explore); the partial index finds a route's calls when the router
-- rebuilds its state at start-up.
ALTER TABLE usage_records ADD COLUMN route TEXT;
ALTER TABLE usage_records ADD COLUMN route_reason TEXT;
CREATE INDEX usage_records_route ON usage_records (route, created_at) WHERE route IS NOT NULL;
