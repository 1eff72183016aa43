-- +goose Up
-- projections.Installations: the key's quota when a farm's overuse grace
-- began (USE-3), so that the lists and the dashboard tell a running grace
-- from one that seats bought since have made available again (USE-5: a
-- quota above it). NULL for a grace recorded before this column, until
-- the projection is rebuilt: such a grace counts as running until it ends.
ALTER TABLE inst_installations ADD COLUMN grace_quota integer;

-- +goose Down
ALTER TABLE inst_installations DROP COLUMN grace_quota;
