package pod

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dockerlet/dockerlet/internal/naming"
)

// deploymentController runs one Deployment in the supervisor, as the
// Deployment controller and its ReplicaSets do: every SyncPeriod it plans
// (deploy_plan.go) from its pods' readiness, records the state, tears
// down the pods the plan took and makes the new ones. A re-play with a
// changed template keeps the Deployment (same UID) and rolls it out.
type deploymentController struct {
	sup *Supervisor
	log *slog.Logger

	mu      sync.Mutex // guards what follows; never held while calling sup
	d       *appsv1.Deployment
	applied *Applied
	state   DeploymentState
	saved   []byte
	broken  bool // the state could not be read: left alone
}

func newDeploymentController(s *Supervisor, d *appsv1.Deployment, a *Applied) *deploymentController {
	c := &deploymentController{sup: s, d: d, applied: a, log: s.cfg.Logger.With("deployment", d.Namespace+"/"+d.Name),
		state: DeploymentState{UID: string(d.UID), Namespace: d.Namespace, Name: d.Name}}
	st, err := s.store.LoadDeployment(string(d.UID))
	switch {
	case err != nil:
		c.log.Error("reading the Deployment's state; the Deployment is left as it is", "error", err)
		c.broken = true
	case st != nil:
		c.state = *st
		c.saved, _ = json.Marshal(st)
	}
	return c
}

// update gives the controller the Deployment's latest record: a changed
// template is rolled out by the next sync.
func (c *deploymentController) update(a *Applied, d *appsv1.Deployment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied, c.d = a, d
}

func (c *deploymentController) pods() ([]*corev1.Pod, *Applied) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(c.state.Pods))
	for _, dp := range c.state.Pods {
		out = append(out, dp.Pod)
	}
	return out, c.applied
}

func (c *deploymentController) run(ctx context.Context) { syncEvery(ctx, c.sup.cfg.SyncPeriod, c.sync) }

func (c *deploymentController) sync(ctx context.Context) {
	c.mu.Lock()
	d, a, st, broken := c.d, c.applied, c.state, c.broken
	c.mu.Unlock()
	if broken {
		return
	}
	ready := map[string]bool{}
	for _, dp := range st.Pods {
		ps, ok := c.sup.podStatus(string(dp.Pod.UID))
		if !ok || ps.Containers == nil {
			// Not observed yet (a supervisor that just started): a pod
			// that is ready would be taken for one that is not.
			return
		}
		ready[string(dp.Pod.UID)] = ps.Ready
	}
	hash := TemplateHash(&d.Spec.Template)
	next, create := planDeployment(d, hash, st, ready)
	if !c.commit(&next) {
		return
	}
	for len(next.Removing) > 0 && ctx.Err() == nil {
		p := next.Removing[0]
		if err := c.sup.removePod(ctx, p, a); err != nil {
			c.log.Warn("removing a pod of the Deployment; retried", "pod", p.Name, "error", err)
			return
		}
		next.Removing = next.Removing[1:]
		next.event(c.eventNow("Normal", "SuccessfulDelete", "Deleted pod: "+p.Name))
		if !c.commit(&next) {
			return
		}
	}
	if create > 0 && !c.recorded(a) {
		return
	}
	for range create {
		if ctx.Err() != nil {
			return
		}
		p := newDeploymentPod(d, hash, c.sup.cfg.Clock.Now())
		next.Pods = append(next.Pods, DeploymentPod{Pod: p, Hash: hash})
		next.event(c.eventNow("Normal", "SuccessfulCreate", "Created pod: "+p.Name))
		if !c.commit(&next) {
			return
		}
		c.sup.startPod(p, a)
	}
}

func (c *deploymentController) eventNow(typ, reason, msg string) Event {
	now := c.sup.cfg.Clock.Now()
	return Event{Time: now, First: now, Count: 1, Type: typ, Reason: reason, Message: msg}
}

// recorded reports whether the Deployment is still in its record (down
// removes the record first).
func (c *deploymentController) recorded(a *Applied) bool {
	cur, err := c.sup.store.LoadApplied(a.SourceID)
	if err != nil || cur == nil {
		return false
	}
	for _, d := range cur.Deployments {
		if string(d.UID) == c.state.UID {
			return true
		}
	}
	return false
}

func (c *deploymentController) commit(st *DeploymentState) bool {
	return commitState(&c.mu, &c.state, &c.saved, st, c.sup.store.SaveDeployment, c.log, "Deployment")
}

// newDeploymentPod makes a pod of d's template, named as a ReplicaSet of
// the Deployment names them (<deployment>-<template hash>-<5 random
// characters>) and labelled pod-template-hash.
func newDeploymentPod(d *appsv1.Deployment, hash string, now time.Time) *corev1.Pod {
	p := &corev1.Pod{}
	d.Spec.Template.ObjectMeta.DeepCopyInto(&p.ObjectMeta)
	d.Spec.Template.Spec.DeepCopyInto(&p.Spec)
	p.Kind, p.APIVersion = "Pod", "v1"
	base := d.Name + "-" + hash
	if len(base) > 57 {
		base = base[:57] // generateName keeps 58 characters with the dash
	}
	p.Name, p.Namespace = base+"-"+randomSuffix(5), d.Namespace
	p.UID = newUID()
	p.CreationTimestamp = metav1.NewTime(now)
	p.Labels = maps.Clone(p.Labels)
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[naming.PlayAnnotationOwner] = "Deployment/" + d.Name
	return p
}
