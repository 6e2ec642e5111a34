import type { AcceptanceRule, EvaluateOutputs, Evaluations, GateVerdict, LabelingSettings, Lineage, LoadingProgress, ModelConfig, PipelineSettings, ReviewItemSource, ReviewItemStatus, TrainConfig, TrainingProgress, WeightFormats } from '@edgeloop/shared';
import { describe, expectTypeOf, it } from 'vitest';
import type { RouterOutputs } from './app.router';

// Checked by the typecheck: the web apps take these types from the router's outputs instead of declaring them again.
describe('procedure outputs carry the shared contracts', () => {
  it('types a run with its configs, evaluation and lineage, and a model version with its weight formats', () => {
    expectTypeOf<RouterOutputs['runs']['get']['evaluation']>().toEqualTypeOf<Evaluations | null>();
    expectTypeOf<RouterOutputs['runs']['get']['lineage']>().toEqualTypeOf<Lineage | null>();
    expectTypeOf<RouterOutputs['runs']['list']['runs'][number]['model']>().toEqualTypeOf<ModelConfig>();
    expectTypeOf<RouterOutputs['runs']['list']['runs'][number]['train']>().toEqualTypeOf<TrainConfig>();
    expectTypeOf<RouterOutputs['registry']['versions']['versions'][number]['formats']>().toEqualTypeOf<WeightFormats>();
    expectTypeOf<RouterOutputs['registry']['publish']['formats']>().toEqualTypeOf<WeightFormats>();
  });

  it("types a run's live progress", () => {
    expectTypeOf<RouterOutputs['runs']['get']['progress']>().toEqualTypeOf<TrainingProgress | null>();
    expectTypeOf<RouterOutputs['runs']['list']['runs'][number]['progress']>().toEqualTypeOf<TrainingProgress | null>();
    expectTypeOf<RouterOutputs['runs']['list']['runs'][number]['loading']>().toEqualTypeOf<LoadingProgress | null>();
  });

  it('types labeling settings and review items with the labeling contracts', () => {
    expectTypeOf<RouterOutputs['labeling']['settings']['get']>().toExtend<LabelingSettings>();
    expectTypeOf<RouterOutputs['labeling']['inbox']['items'][number]['status']>().toEqualTypeOf<ReviewItemStatus>();
    expectTypeOf<RouterOutputs['labeling']['inbox']['items'][number]['source']>().toEqualTypeOf<ReviewItemSource>();
    expectTypeOf<RouterOutputs['labeling']['decide']['rule']>().toEqualTypeOf<AcceptanceRule | null>();
  });

  it("types a pipeline run's evaluation, verdict and settings with the shared contracts", () => {
    expectTypeOf<RouterOutputs['pipeline']['get']['evaluation']>().toEqualTypeOf<EvaluateOutputs | null>();
    expectTypeOf<RouterOutputs['pipeline']['get']['verdict']>().toEqualTypeOf<GateVerdict | null>();
    expectTypeOf<RouterOutputs['pipeline']['get']['settings']>().toEqualTypeOf<PipelineSettings>();
    expectTypeOf<RouterOutputs['pipeline']['settings']['get']['settings']>().toEqualTypeOf<PipelineSettings>();
  });
});
