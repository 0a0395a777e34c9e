import { Body, Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { AGENT_CATALOGUE, UnknownAgentError } from './agents/agent.factory';
import { MonitoringReadiness } from '../monitoring';
import { DemoService, UnknownWorkflowError } from './demo.service';
import { WORKFLOW_CATALOGUE } from './workflows/workflow-executor';

/** HTTP routes of the demo monolith. */
@Controller()
export class DemoController {
  constructor(
    private readonly demo: DemoService,
    private readonly readiness: MonitoringReadiness,
  ) {}

  @Get('agents')
  listAgents() {
    return AGENT_CATALOGUE;
  }

  @Get('workflows')
  listWorkflows() {
    return WORKFLOW_CATALOGUE;
  }

  @Post('agents/:id/execute')
  @HttpCode(200)
  async executeAgent(@Param('id') id: string, @Body() body: { input?: string } = {}) {
    try {
      return { output: await this.demo.runAgent(id, body?.input ?? 'hello') };
    } catch (error) {
      if (error instanceof UnknownAgentError) throw new NotFoundException(error.message);
      throw error;
    }
  }

  @Post('workflows/:id/run')
  @HttpCode(200)
  async runWorkflow(@Param('id') id: string, @Body() body: { input?: string } = {}) {
    try {
      return await this.demo.runWorkflow(id, body?.input ?? 'hello');
    } catch (error) {
      if (error instanceof UnknownWorkflowError) throw new NotFoundException(error.message);
      throw error;
    }
  }

  @Get('health')
  health() {
    return { status: 'ok' };
  }

  /** Readiness for a load balancer: 503 from the moment shutdown begins (SIGTERM). */
  @Get('health/ready')
  ready() {
    return this.readiness.check();
  }
}
