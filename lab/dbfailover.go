package lab

import (
	"context"
	"errors"
	"fmt"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// labDatabase is the data tier as chaos sees it (db-failover, kill-db,
// replica-lag and az-outage's database part).
type labDatabase struct{ l *Lab }

var _ chaos.Database = labDatabase{}

// resolve is the DB instance which names: chaos.DBPrimary (the primary
// now), chaos.DBReplica (the first read replica, else the first standby
// or reader), or an identifier of the tier's.
func (d labDatabase) resolve(which string) (rds.Server, error) {
	servers := d.l.DB.Servers()
	switch which {
	case "", chaos.DBPrimary:
		return servers[0], nil
	case chaos.DBReplica:
		for _, role := range []stack.DBRole{stack.RoleReadReplica, stack.RoleStandby, stack.RoleReader} {
			for _, s := range servers {
				if s.Role == role {
					return s, nil
				}
			}
		}
		return rds.Server{}, errors.New("the database has no replica, standby or reader")
	}
	var ids []string
	for _, s := range servers {
		if s.Identifier == which {
			return s, nil
		}
		ids = append(ids, s.Identifier)
	}
	return rds.Server{}, fmt.Errorf("no DB instance %s; the tier has %v", which, ids)
}

func (d labDatabase) Failover(ctx context.Context, which string) (string, error) {
	s, err := d.resolve(which)
	if err != nil {
		return "", err
	}
	if s.Role == stack.RoleReadReplica {
		if err := d.l.DB.PromoteReadReplica(ctx, s.Identifier); err != nil {
			return "", err
		}
		return s.Identifier, nil
	}
	if s.Role != stack.RolePrimary {
		return "", fmt.Errorf("DB instance %s is a %s: a failover is asked of the primary (or a read replica to promote)", s.Identifier, s.Role)
	}
	if err := d.l.DB.Failover(ctx, "reboot with failover"); err != nil {
		return "", err
	}
	return d.l.DB.Primary().Identifier, nil
}

func (d labDatabase) Kill(ctx context.Context, which string) (string, error) {
	s, err := d.resolve(which)
	if err != nil {
		return "", err
	}
	return s.Identifier, d.l.DB.KillServer(ctx, s.Identifier)
}

func (d labDatabase) PauseReplication(ctx context.Context, which string) (string, func(context.Context) (string, error), error) {
	s, err := d.resolve(which)
	if err != nil {
		return "", nil, err
	}
	resume, err := d.l.DB.PauseReplication(ctx, s.Identifier)
	return s.Identifier, resume, err
}

func (d labDatabase) ZoneDown(ctx context.Context, zone string) ([]string, func(), error) {
	killed, err := d.l.DB.ZoneDown(ctx, zone)
	return killed, func() { d.l.DB.ZoneUp(zone) }, err
}
