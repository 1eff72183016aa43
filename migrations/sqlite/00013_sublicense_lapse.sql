-- +goose Up
-- projections.Licenses: where a key stands (KEY-3): 'active', 'grace' once a
-- sublicense's own expiry passed, 'expired' once its 30 days of grace ended
-- (its quota then returned to the primary key). Keys written before this
-- column are 'active' until the projection is rebuilt.
ALTER TABLE lic_keys ADD COLUMN status text NOT NULL DEFAULT 'active';

-- +goose Down
ALTER TABLE lic_keys DROP COLUMN status;
